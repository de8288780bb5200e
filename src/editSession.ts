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

import { applyText } from './applyText';
import { oneLine, replaceSelection } from './editText';
import { ProposalSession } from './proposalSession';
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
export class EditSession extends ProposalSession<IEditReply> {
  constructor(private _options: IEditSessionOptions) {
    super({
      kind: 'edit',
      panel: _options.panel,
      body: _options.body,
      requestId: _options.requestId,
      title: _options.trans.__('Edit: %1', oneLine(_options.body.instruction)),
      trans: _options.trans,
      language: _options.language,
      rerun: null
    });
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
    this.close();
  }

  protected showPartial(data: any): void {
    this._show(String(data?.text ?? ''));
  }

  /** The rewrite; one that does not parse is flagged, Apply then on request. */
  protected showReply(reply: IEditReply): void {
    const { trans } = this._options;
    this._show(reply.text);
    if (!reply.parses && reply.text.trim()) {
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
  }

  /** Show the rewrite so far, over the selection. */
  private _show(text: string): void {
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
}
