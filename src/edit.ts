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
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { ISharedCell } from '@jupyter/ydoc';

import { askInstruction, cellSelection } from './editInstruction';
import { EditPrefetcher, editPrefetchRequestId } from './editPrefetch';
import { EditSession } from './editSession';
import { IEditTarget, prepareEdit } from './editRequest';
import { MAX_INSTRUCTION_CHARS } from './editText';
import { currentNotebook, watchSettings } from './notebook';
import { addProposalStopCommand, proposals } from './notebookProposals';
import { languageSupport } from './proposalDiffs';
import { ProposalStarter } from './proposalSession';

export const EDIT_COMMAND = 'jupyter-codegen:edit';

/** The user's settings for edits (schema/plugin.json). */
export interface IEditSettings {
  maxTokens: number;
  liveContext: boolean;
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
    const prefetcher = new EditPrefetcher();
    watchSettings(settingRegistry, composite => {
      settings.maxTokens = (composite.editMaxTokens as number) ?? 1024;
      settings.liveContext = (composite.liveContext as boolean) ?? true;
      prefetcher.prefetch = composite.prefetch !== false;
    });
    const starter = new ProposalStarter(app);
    let counter = 0;

    const current = () => currentNotebook(app, notebooks);

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
        const target: IEditTarget = {
          panel,
          cell,
          original,
          selection: cellSelection(cell, original),
          maxTokens: settings.maxTokens,
          liveContext: settings.liveContext
        };
        let instruction: string | null;
        let closePrefetch = (_sent: boolean) => undefined as void;
        if (typeof args.instruction === 'string' && args.instruction.trim()) {
          instruction = args.instruction.trim().slice(0, MAX_INSTRUCTION_CHARS);
        } else {
          // While the instruction is typed, the server computes the rest.
          closePrefetch = prefetcher.start(editPrefetchRequestId(panel), () =>
            prepareEdit(target, '').then(prepared => prepared?.body ?? null)
          );
          instruction = await askInstruction(trans, target.selection !== null);
        }
        if (
          !instruction ||
          panel.isDisposed ||
          cell.isDisposed ||
          shared.getSource() !== original // changed while the dialog was open
        ) {
          closePrefetch(false);
          return;
        }
        proposals.get(panel)?.discard();
        const prepared = await prepareEdit(target, instruction);
        if (!prepared) {
          closePrefetch(false);
          return;
        }
        // The edit stops the prefetch on the server and reuses what it computed.
        closePrefetch(true);
        const { body, index } = prepared;
        const language = await languageSupport(
          languages,
          panel.content.codeMimetype,
          prepared.language
        );
        if (panel.isDisposed || cell.isDisposed) {
          return;
        }
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
        await starter.start(panel, cell, session);
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
