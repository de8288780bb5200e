/**
 * One fix of an error: its request streamed from the server, and the
 * proposal under the failing cell (the cause, then an inline diff of each
 * cell it changes, which may be an earlier cell). Apply puts each cell's new
 * text in as one undo step of that cell, when every cell still holds the
 * text the fix was made against, and re-runs the changed cells and the
 * failing one when "Re-run" is checked; Discard leaves the notebook as it was.
 */
import { ICodeCellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import type { ISharedCell } from '@jupyter/ydoc';
import type { Extension } from '@codemirror/state';

import { applyText } from './applyText';
import { editTarget, IFixBody } from './fixText';
import { IProposedCell } from './proposalDiffs';
import { ProposalSession } from './proposalSession';
import type { ICellEdit, IFixReply } from './wire.generated';

/**
 * "This cell" (the failing one), or "Cell 2 [5]": where the cell is in the
 * notebook now, and its execution count.
 */
function cellLabel(
  panel: NotebookPanel,
  cell: ISharedCell,
  failing: ISharedCell,
  trans: TranslationBundle
): string {
  if (cell === failing) {
    return trans.__('This cell');
  }
  const widgets = panel.content.widgets;
  const index = widgets.findIndex(w => w.model.sharedModel === cell);
  const model = widgets[index]?.model;
  const count =
    model?.type === 'code' ? (model as ICodeCellModel).executionCount : null;
  const label = trans.__('Cell %1', index + 1);
  return count ? `${label} [${count}]` : label;
}

/** What one fix session knows. */
export interface IFixSessionOptions {
  panel: NotebookPanel;
  /** The notebook index of the failing cell. */
  failing: number;
  body: IFixBody;
  requestId: string;
  /** The notebook's cells (shared models) when the fix was asked for. */
  cells: ISharedCell[];
  trans: TranslationBundle;
  language: Extension | null;
  rerun: boolean;
  ename: string;
  runCells: (cells: ISharedCell[]) => Promise<void>;
}

/** One fix: its stream, and the proposal under the failing cell. */
export class FixSession extends ProposalSession<IFixReply> {
  constructor(private _options: IFixSessionOptions) {
    super({
      kind: 'fix',
      panel: _options.panel,
      body: _options.body.request,
      requestId: _options.requestId,
      title: _options.trans.__(
        'Fix %1',
        _options.ename || _options.trans.__('the error')
      ),
      trans: _options.trans,
      language: _options.language,
      rerun: _options.rerun
    });
  }

  /**
   * Put each cell's proposed text in (one undo step each), when every cell
   * still holds the text the fix was made against; then re-run if asked.
   */
  async apply(): Promise<void> {
    const { cells, failing, trans, panel } = this._options;
    const changes = this.view.keys
      .map(key => ({
        index: Number(key),
        before: this.view.original(key) ?? '',
        after: this.view.proposed(key) ?? ''
      }))
      .filter(change => change.before !== change.after);
    const stale = changes.filter(({ index, before }) => {
      const cell = cells[index];
      return !cell || cell.isDisposed || cell.getSource() !== before;
    });
    if (stale.length) {
      this.view.setWarning(
        trans.__(
          '%1 changed since the fix was proposed: nothing was applied. Discard it and ask again.',
          stale
            .map(({ index }) =>
              cellLabel(panel, cells[index], cells[failing], trans)
            )
            .join(', ')
        )
      );
      this.view.setApplyOffered(false);
      return;
    }
    for (const { index, before, after } of changes) {
      applyText(cells[index], before, after);
    }
    const rerun = this.view.rerun && changes.length > 0;
    this.close();
    if (rerun) {
      const run = new Set(changes.map(({ index }) => cells[index]));
      run.add(cells[failing]);
      await this._options.runCells([...run]);
    }
  }

  protected showPartial(data: any): void {
    this._show(
      String(data?.explanation ?? ''),
      (data?.edits ?? []) as ICellEdit[]
    );
  }

  protected showReply(reply: IFixReply): void {
    this._show(reply.explanation, reply.edits);
  }

  /** Show the proposal so far: the cause, and a diff per cell it changes. */
  private _show(explanation: string, edits: ICellEdit[]): void {
    const { body, failing, cells, panel, trans } = this._options;
    this.view.setExplanation(explanation);
    const shown = new Map<number, IProposedCell>();
    for (const edit of edits) {
      const index = editTarget(edit, body, failing);
      if (index === null || !cells[index]) {
        continue;
      }
      const original =
        index === failing
          ? body.request.cell
          : (body.request.cells_before?.[index - body.offset]?.source ?? '');
      shown.set(index, {
        key: String(index),
        label: cellLabel(panel, cells[index], cells[failing], trans),
        original,
        proposed: edit.source
      });
    }
    this.view.setCells(
      [...shown.entries()].sort(([a], [b]) => a - b).map(([, cell]) => cell)
    );
  }
}
