/**
 * The diffs of a proposal: one inline diff per cell it changes, headed by
 * the cell's label and kept in the order given, and the language support
 * that highlights them. The diffs are their own read-only editors: nothing
 * is written into the notebook while a proposal streams.
 */
import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import type { Extension } from '@codemirror/state';

import { DiffView, IRevertLabels } from './diffView';

/** One cell of a proposal: its text then, and the text proposed for it. */
export interface IProposedCell {
  /** Names the cell among the proposal's cells (its notebook index). */
  key: string;
  /** What the diff's heading says ("This cell", "Cell 2 [5]"). */
  label: string;
  original: string;
  proposed: string;
}

/** The list of a proposal's diffs, one per cell. */
export class ProposalDiffs {
  /** The list's node, to be placed in the proposal. */
  readonly node: HTMLElement;
  private _diffs = new Map<string, { view: DiffView; node: HTMLElement }>();

  /**
   * @param _language - the cells' language support, for highlighting.
   * @param _onChange - called when a diff's proposed text changes.
   */
  constructor(
    private _language: Extension | null | undefined,
    private _onChange: () => void
  ) {
    this.node = document.createElement('div');
    this.node.className = 'jp-codegen-ProposalDiffs';
  }

  /** The cells the proposal changes, as shown. */
  get keys(): string[] {
    return [...this._diffs.keys()];
  }

  /** The text proposed for a cell, as shown (a reverted change is not in it). */
  proposed(key: string): string | null {
    return this._diffs.get(key)?.view.proposed ?? null;
  }

  /** The text the proposal for a cell was made against. */
  original(key: string): string | null {
    return this._diffs.get(key)?.view.original ?? null;
  }

  /** How many cells the proposal changes, as shown. */
  get changedCells(): number {
    let count = 0;
    for (const { view } of this._diffs.values()) {
      if (view.proposed !== view.original) {
        count++;
      }
    }
    return count;
  }

  /** Show these cells' diffs (the whole proposal so far), in this order. */
  setCells(cells: IProposedCell[]): void {
    const wanted = new Set(cells.map(cell => cell.key));
    for (const [key, diff] of this._diffs) {
      if (!wanted.has(key)) {
        diff.view.dispose();
        diff.node.remove();
        this._diffs.delete(key);
      }
    }
    for (const cell of cells) {
      let diff = this._diffs.get(cell.key);
      if (!diff || diff.view.original !== cell.original) {
        if (diff) {
          diff.view.dispose();
          diff.node.remove();
        }
        const node = document.createElement('div');
        node.className = 'jp-codegen-ProposalDiff';
        node.dataset.cell = cell.key;
        const label = document.createElement('div');
        label.className = 'jp-codegen-ProposalDiffLabel';
        const view = new DiffView({
          original: cell.original,
          proposed: cell.proposed,
          language: this._language,
          onChange: () => this._onChange()
        });
        // The diff's editor needs no widget messages: its node is placed as is.
        node.append(label, view.node);
        diff = { view, node };
        this._diffs.set(cell.key, diff);
      } else {
        diff.view.proposed = cell.proposed;
      }
      (diff.node.firstChild as HTMLElement).textContent = cell.label;
      this.node.appendChild(diff.node); // keeps the given order
    }
  }

  /** Put a Revert button on each change of each diff. */
  allowRevert(labels: IRevertLabels): void {
    for (const { view } of this._diffs.values()) {
      view.allowRevert(labels);
    }
  }

  dispose(): void {
    for (const { view } of this._diffs.values()) {
      view.dispose();
    }
    this._diffs.clear();
  }
}

/**
 * The language support (highlighting) of a notebook's code cells for the
 * diffs: by their MIME type, or else (plain text until the kernel has said
 * its language) by the kernel's language; null when the registry knows
 * neither.
 */
export async function languageSupport(
  languages: IEditorLanguageRegistry | null,
  mimeType: string,
  language?: string
): Promise<Extension | null> {
  if (!languages) {
    return null;
  }
  try {
    const found =
      (mimeType && mimeType !== 'text/plain'
        ? languages.findByMIME(mimeType)
        : null) ?? (language ? languages.findBest(language) : null);
    const loaded = found ? await languages.getLanguage(found) : null;
    return loaded?.support ?? null;
  } catch {
    return null; // plain text
  }
}
