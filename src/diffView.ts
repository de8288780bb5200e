/**
 * An inline diff of a cell: CodeMirror's own merge view (`@codemirror/merge`,
 * unified) in a read-only editor, the proposal shown against the cell's
 * text. While a proposal streams, `proposed` is set again and again (only
 * what changed is dispatched); once it is complete, `allowRevert` puts a
 * Revert button on each change, so that part of a proposal can be refused.
 */
import { getChunks, unifiedMergeView } from '@codemirror/merge';
import { Compartment, EditorState, Extension } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { jupyterTheme } from '@jupyterlab/codemirror';
import { Widget } from '@lumino/widgets';

import { minimalChange } from './editText';

/** What a diff view shows. */
export interface IDiffViewOptions {
  /** The cell's text. */
  original: string;
  /** The proposed text so far (none yet: the original). */
  proposed?: string;
  /** The language support of the cell (highlighting), if known. */
  language?: Extension | null;
  /** Called when the proposed text changes (streamed, or a change reverted). */
  onChange?: () => void;
}

/** The label and tooltip of a change's Revert button. */
export interface IRevertLabels {
  label: string;
  title: string;
}

/** A read-only inline diff of one text against another. */
export class DiffView extends Widget {
  private _view: EditorView;
  private _merge = new Compartment();
  private _original: string;

  constructor(options: IDiffViewOptions) {
    super();
    this.addClass('jp-codegen-DiffView');
    this._original = options.original;
    this._view = new EditorView({
      parent: this.node,
      state: EditorState.create({
        doc: options.proposed ?? options.original,
        extensions: [
          jupyterTheme,
          options.language ?? [],
          EditorState.readOnly.of(true),
          EditorView.editable.of(false),
          EditorView.updateListener.of(update => {
            if (update.docChanged) {
              options.onChange?.();
            }
          }),
          this._merge.of(this._mergeView(false))
        ]
      })
    });
  }

  /** The text the diff is against. */
  get original(): string {
    return this._original;
  }

  /** The proposed text, as shown (changes reverted here are not in it). */
  get proposed(): string {
    return this._view.state.doc.toString();
  }

  set proposed(text: string) {
    const change = minimalChange(this.proposed, text);
    if (change) {
      this._view.dispatch({
        changes: { from: change.start, to: change.end, insert: change.insert }
      });
    }
  }

  /** How many changed chunks the diff shows. */
  get changes(): number {
    return getChunks(this._view.state)?.chunks.length ?? 0;
  }

  /** Put a Revert button on each change (once the proposal is complete). */
  allowRevert(labels: IRevertLabels): void {
    this._view.dispatch({
      effects: this._merge.reconfigure(this._mergeView(labels))
    });
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._view.destroy();
    super.dispose();
  }

  private _mergeView(revert: IRevertLabels | false): Extension {
    return unifiedMergeView({
      original: this._original,
      gutter: true,
      highlightChanges: true,
      syntaxHighlightDeletions: true,
      mergeControls: revert
        ? (type, action) => {
            if (type !== 'reject') {
              // "Accept" only hides the highlight here: not offered.
              const none = document.createElement('span');
              none.hidden = true;
              return none;
            }
            const button = document.createElement('button');
            button.className = 'jp-codegen-DiffRevert';
            button.textContent = revert.label;
            button.title = revert.title;
            button.dataset.action = 'revert-change';
            button.onmousedown = action;
            return button;
          }
        : false
    });
  }
}
