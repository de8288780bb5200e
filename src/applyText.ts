/**
 * Changing a cell as an undo step of its own: a proposal's text put in on
 * Apply (Fix Error and Edit), changing only the part that differs, and the
 * undo-step boundary that a generation (generation.ts) also uses.
 */
import type { ISharedCell } from '@jupyter/ydoc';

import { minimalChange } from './editText';

/**
 * Make the next change of a shared model (a cell, a notebook) an undo step of
 * its own, not merged with the changes just before or after it.
 */
export function stopCapturing(shared: unknown): void {
  const manager = (
    shared as { undoManager?: { stopCapturing?: () => void } | null } | null
  )?.undoManager;
  manager?.stopCapturing?.();
}

/**
 * Turn the cell's text from `before` into `after` in one transaction (one
 * undo step of its own), changing only the part that differs. False (and
 * nothing changed) when the cell no longer holds `before`.
 */
export function applyText(
  cell: ISharedCell,
  before: string,
  after: string
): boolean {
  if (cell.isDisposed || cell.getSource() !== before) {
    return false;
  }
  const change = minimalChange(before, after);
  if (!change) {
    return true;
  }
  stopCapturing(cell);
  cell.transact(() =>
    cell.updateSource(change.start, change.end, change.insert)
  );
  stopCapturing(cell);
  return true;
}
