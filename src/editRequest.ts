/**
 * What an edit asks with, read from the notebook and its kernel: the cells
 * around the active one, its index, and the live variables that the code to
 * rewrite uses, made into the request by `buildEditRequest` (editText.ts).
 * The edit command builds it twice, with the same code: without an
 * instruction when the instruction dialog opens (the prefetch), then with it.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

import { buildEditRequest } from './editText';
import { liveNamespace, liveSource } from './kernelContext';
import { notebookCells } from './notebook';
import type { IEditRequest, ISelection } from './wire.generated';

/** What the edit command fixed before asking for the instruction. */
export interface IEditTarget {
  panel: NotebookPanel;
  cell: Cell;
  /** The cell's text when the command ran. */
  original: string;
  selection: ISelection | null;
  maxTokens: number;
  liveContext: boolean;
}

/** An edit ready to be asked for, and where it stands in the notebook. */
export interface IPreparedEdit {
  body: IEditRequest;
  /** The active cell's index. */
  index: number;
  /** The notebook's language (the kernel's), when known. */
  language?: string;
}

/** The request of an edit of `target` with `instruction` (null: the cell is gone). */
export async function prepareEdit(
  target: IEditTarget,
  instruction: string
): Promise<IPreparedEdit | null> {
  const { panel, cell, original, selection } = target;
  const context = notebookCells(panel);
  const index = panel.content.widgets.indexOf(cell);
  if (index < 0) {
    return null;
  }
  const code = selection
    ? original.slice(selection.start, selection.end)
    : original;
  const namespace = await liveNamespace(
    panel.sessionContext,
    liveSource(code, context.cells, index),
    target.liveContext
  ).catch(() => '');
  if (panel.isDisposed || cell.isDisposed) {
    return null;
  }
  const body = buildEditRequest({
    cells: context.cells,
    active: index,
    cell: original,
    selection,
    instruction,
    language: context.language,
    path: context.path,
    namespace,
    maxTokens: target.maxTokens
  });
  return { body, index, language: context.language };
}
