/**
 * One edit of a cell: its request streamed from the server, and the rewrite
 * under the cell as an inline diff over the selection. Apply puts it in as
 * one undo step when the cell still holds the text the edit was asked for;
 * a rewrite that does not parse is flagged, and Apply is then offered only
 * on request. Discard leaves the cell as it was.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import type { ISharedCell } from '@jupyter/ydoc';
import type { Extension } from '@codemirror/state';

import { CodegenStream, streamRequest, StreamSlot } from './api';
import { applyText } from './applyText';
import { oneLine, replaceSelection } from './editText';
import { IProposalHandle, proposals } from './notebookProposals';
import { ProposalView } from './proposalView';
import type { IEditReply, IEditRequest, ISelection } from './wire.generated';

/** What one edit session knows. */
export interface IEditSessionOptions {
  panel: NotebookPanel;
  cell: ISharedCell;
  /** The cell's text when the edit was asked for. */
  original: string;
  selection: ISelection | null;
  body: IEditRequest;
  requestId: string;
  trans: TranslationBundle;
  language: Extension | null;
  /** The notebook index of the cell (names its diff). */
  index: number;
}

/** The lines a selection covers, 1-based: "3–5", or "3". */
function lineRange(text: string, selection: ISelection): string {
  const first = text.slice(0, selection.start).split('\n').length;
  let end = selection.end;
  if (end > selection.start && text[end - 1] === '\n') {
    end--; // a selection of whole lines ends after the last one's newline
  }
  const last = text.slice(0, end).split('\n').length;
  return first === last ? `${first}` : `${first}–${last}`;
}

/** One edit: its stream, and the proposal under the cell. */
export class EditSession implements IProposalHandle {
  readonly view: ProposalView;
  private _stream: CodegenStream;
  private _reply: IEditReply | null = null;
  private _closed = false;

  constructor(private _options: IEditSessionOptions) {
    const { trans } = _options;
    this._stream = streamRequest({
      endPoint: 'edit',
      body: _options.body,
      requestId: _options.requestId,
      onEvent: event => {
        if (event.event === 'edit') {
          this._show(String(event.data?.text ?? ''));
        } else if (event.event === 'done') {
          this._reply = event.data as IEditReply;
        }
      },
      errorKind: 'edit'
    });
    this.view = new ProposalView({
      kind: 'edit',
      title: trans.__('Edit: %1', oneLine(_options.body.instruction)),
      trans,
      language: _options.language,
      rerun: null,
      onStop: () => this.stop(),
      onApply: () => this.apply(),
      onDiscard: () => this.discard()
    });
    // The cell (and the proposal in it) deleted: stop, here and on the server.
    this.view.disposed.connect(() => this.discard());
  }

  get streaming(): boolean {
    return this.view.state === 'streaming';
  }

  /** Run the request in the notebook's slot, streaming the rewrite. */
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
      this._show(this._reply.text);
      if (!this._reply.parses && this._reply.text.trim()) {
        this.view.setApplyOffered(false);
        this.view.setWarning(
          trans.__(
            'The rewrite does not parse: applied, it would leave a syntax error in the cell.'
          ),
          {
            label: trans.__('Offer Apply Anyway'),
            title: trans.__('Let Apply put this rewrite in as it is'),
            onClick: () => this.view.setApplyOffered(true)
          }
        );
      }
      this.view.setState('done');
    } else if (outcome.state === 'done') {
      // A rewrite cut short is not offered for Apply.
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

  /** Put the rewrite in (one undo step), when the cell is still as it was. */
  apply(): void {
    const { cell, original, trans } = this._options;
    const key = String(this._options.index);
    const proposed = this.view.proposed(key);
    if (proposed === null) {
      return;
    }
    if (!applyText(cell, original, proposed)) {
      this.view.setWarning(
        trans.__(
          'The cell changed since the rewrite was asked for: nothing was applied. Discard it and ask again.'
        )
      );
      this.view.setApplyOffered(false);
      return;
    }
    this._close();
  }

  /** Show the rewrite so far, over the selection. */
  private _show(text: string): void {
    if (this._closed) {
      return;
    }
    const { original, selection, trans, index } = this._options;
    this.view.setCells([
      {
        key: String(index),
        label: selection
          ? trans.__('Selection (line %1)', lineRange(original, selection))
          : trans.__('This cell'),
        original,
        proposed: replaceSelection(original, selection, text)
      }
    ]);
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
