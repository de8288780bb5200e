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

import { CodegenStream, streamRequest, StreamSlot } from './api';
import { applyText } from './applyText';
import { editTarget, IFixBody } from './fixText';
import { IProposalHandle, proposals } from './notebookProposals';
import { IProposedCell } from './proposalDiffs';
import { ProposalView } from './proposalView';
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
export class FixSession implements IProposalHandle {
  readonly view: ProposalView;
  private _stream: CodegenStream;
  private _reply: IFixReply | null = null;
  private _closed = false;

  constructor(private _options: IFixSessionOptions) {
    const { trans } = _options;
    this._stream = streamRequest({
      endPoint: 'fix',
      body: _options.body.request,
      requestId: _options.requestId,
      onEvent: event => {
        if (event.event === 'fix') {
          this._show(
            String(event.data?.explanation ?? ''),
            (event.data?.edits ?? []) as ICellEdit[]
          );
        } else if (event.event === 'done') {
          this._reply = event.data as IFixReply;
        }
      },
      errorKind: 'fix'
    });
    this.view = new ProposalView({
      kind: 'fix',
      title: trans.__('Fix %1', _options.ename || trans.__('the error')),
      trans,
      language: _options.language,
      rerun: _options.rerun,
      onStop: () => this.stop(),
      onApply: () => void this.apply(),
      onDiscard: () => this.discard()
    });
    // The cell (and the proposal in it) deleted: stop, here and on the server.
    this.view.disposed.connect(() => this.discard());
  }

  get streaming(): boolean {
    return this.view.state === 'streaming';
  }

  /** Run the request in the notebook's slot, streaming the proposal. */
  async run(slot: StreamSlot): Promise<void> {
    const { panel, trans } = this._options;
    proposals.markStreaming(panel, true);
    const outcome = await slot.run(this._stream);
    if (proposals.get(panel) === this) {
      proposals.markStreaming(panel, false);
    }
    if (this._closed) {
      return;
    }
    if (outcome.state === 'done' && this._reply) {
      this._show(this._reply.explanation, this._reply.edits);
      this.view.setState('done');
    } else if (outcome.state === 'done') {
      // A proposal cut short is not offered for Apply.
      this.view.setState('error', trans.__('the reply ended early'));
    } else if (outcome.state === 'error') {
      this.view.setState('error', outcome.message);
    } else {
      this.view.setState('stopped');
    }
  }

  stop(): void {
    this._stream.stop();
  }

  discard(): void {
    this.stop();
    this._close();
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
    this._close();
    if (rerun) {
      const run = new Set(changes.map(({ index }) => cells[index]));
      run.add(cells[failing]);
      await this._options.runCells([...run]);
    }
  }

  /** Show the proposal so far: the cause, and a diff per cell it changes. */
  private _show(explanation: string, edits: ICellEdit[]): void {
    if (this._closed) {
      return;
    }
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

  private _close(): void {
    if (this._closed) {
      return;
    }
    this._closed = true;
    const { panel } = this._options;
    if (proposals.get(panel) === this) {
      proposals.markStreaming(panel, false);
    }
    proposals.delete(panel, this);
    this.view.dispose();
  }
}
