/**
 * "Edit Code with an Instruction…": select code in a cell (or nothing: the
 * whole cell), press Accel+K or use the cell context menu or the command
 * palette, and say what to change ("vectorize this loop", "add type
 * hints"). The rewrite streams under the cell as an inline diff over the
 * selection; Stop (or Escape) cancels it on the server. Apply puts it in as
 * one undo step; Discard leaves the cell as it was. A rewrite that does not
 * parse is flagged, and Apply is then offered only on request.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, InputDialog } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import type { ISharedCell } from '@jupyter/ydoc';
import type { Extension } from '@codemirror/state';

import { CodegenStream, streamRequest, StreamSlot } from './api';
import { applyText } from './applyText';
import {
  buildEditRequest,
  MAX_INSTRUCTION_CHARS,
  normalSelection,
  oneLine,
  replaceSelection
} from './editText';
import { liveNamespace, liveSource } from './kernelContext';
import { notebookCells, watchSettings } from './notebook';
import {
  addProposalStopCommand,
  IProposalHandle,
  proposals
} from './notebookProposals';
import { languageSupport } from './proposalDiffs';
import { attachUnderInput, ProposalView } from './proposalView';
import type { IEditReply, IEditRequest, ISelection } from './wire.generated';

export const EDIT_COMMAND = 'jupyter-codegen:edit';

/** The user's settings for edits (schema/plugin.json). */
export interface IEditSettings {
  maxTokens: number;
  liveContext: boolean;
}

/** What one edit session knows. */
interface IEditSessionOptions {
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
class EditSession implements IProposalHandle {
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

/** The selection of a cell's editor as offsets, or null when none. */
function cellSelection(cell: Cell, text: string): ISelection | null {
  const editor = cell.editor;
  if (!editor) {
    return null;
  }
  const { start, end } = editor.getSelection();
  return normalSelection(text, {
    start: editor.getOffsetAt(start),
    end: editor.getOffsetAt(end)
  });
}

/** Ask what to change. */
async function askInstruction(
  trans: TranslationBundle,
  selected: boolean
): Promise<string | null> {
  const result = await InputDialog.getText({
    title: trans.__('Edit code'),
    label: selected
      ? trans.__('What should change in the selection?')
      : trans.__('What should change in the cell?'),
    placeholder: trans.__('e.g. vectorize this loop, add type hints'),
    okLabel: trans.__('Rewrite')
  });
  const value = result.button.accept ? (result.value ?? '').trim() : '';
  return value ? value.slice(0, MAX_INSTRUCTION_CHARS) : null;
}

export const editPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:edit',
  description:
    'Rewrite the selection (or the cell) as instructed with the local model, as a diff to apply.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ICommandPalette,
    ISettingRegistry,
    ITranslator,
    IEditorLanguageRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    languages: IEditorLanguageRegistry | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyter_codegen');
    const settings: IEditSettings = { maxTokens: 1024, liveContext: true };
    watchSettings(settingRegistry, composite => {
      settings.maxTokens = (composite.editMaxTokens as number) ?? 1024;
      settings.liveContext = (composite.liveContext as boolean) ?? true;
    });
    const slots = new WeakMap<NotebookPanel, StreamSlot>();
    const slotOf = (panel: NotebookPanel): StreamSlot => {
      let slot = slots.get(panel);
      if (!slot) {
        slot = new StreamSlot();
        slots.set(panel, slot);
      }
      return slot;
    };
    let counter = 0;

    const current = (): NotebookPanel | null => {
      const panel = notebooks.currentWidget;
      return panel && panel === app.shell.currentWidget ? panel : null;
    };

    app.commands.addCommand(EDIT_COMMAND, {
      label: trans.__('Edit Code with an Instruction…'),
      caption: trans.__(
        'Say what to change in the selection (or the cell); the local model rewrites it as a diff to apply'
      ),
      isEnabled: () => current()?.content.activeCell?.model.type === 'code',
      execute: async args => {
        const panel = current();
        const cell = panel?.content.activeCell;
        if (!panel || !cell || cell.model.type !== 'code') {
          return;
        }
        const shared = cell.model.sharedModel as ISharedCell;
        const original = shared.getSource();
        const selection = cellSelection(cell, original);
        const instruction =
          typeof args.instruction === 'string' && args.instruction.trim()
            ? args.instruction.trim().slice(0, MAX_INSTRUCTION_CHARS)
            : await askInstruction(trans, selection !== null);
        if (!instruction || panel.isDisposed || cell.isDisposed) {
          return;
        }
        if (shared.getSource() !== original) {
          return; // changed while the dialog was open: ask again
        }
        proposals.get(panel)?.discard();
        const context = notebookCells(panel);
        const index = panel.content.widgets.indexOf(cell);
        if (index < 0) {
          return;
        }
        const [namespace, language] = await Promise.all([
          liveNamespace(
            panel.sessionContext,
            liveSource(
              selection
                ? original.slice(selection.start, selection.end)
                : original,
              context.cells,
              index
            ),
            settings.liveContext
          ).catch(() => ''),
          languageSupport(
            languages,
            panel.content.codeMimetype,
            context.language
          )
        ]);
        if (panel.isDisposed || cell.isDisposed) {
          return;
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
          maxTokens: settings.maxTokens
        });
        const session = new EditSession({
          panel,
          cell: shared,
          original,
          selection: body.selection ?? null,
          body,
          requestId: `codegen-edit-${panel.id}-${++counter}`,
          trans,
          language,
          index
        });
        proposals.set(panel, session);
        attachUnderInput(cell, session.view);
        session.view.node.scrollIntoView?.({ block: 'nearest' });
        const done = session.run(slotOf(panel));
        app.commands.notifyCommandChanged();
        try {
          await done;
        } finally {
          app.commands.notifyCommandChanged();
        }
      }
    });
    addProposalStopCommand(app, current, trans, palette);

    app.contextMenu.addItem({
      command: EDIT_COMMAND,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 62
    });
    palette?.addItem({ command: EDIT_COMMAND, category: 'Codegen' });
  }
};
