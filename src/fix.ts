/**
 * "Fix Error": a Fix button beside every error output of a code cell, the
 * `jupyter-codegen:fix` command in the cell context menu and the command
 * palette, and Alt+F (the active cell's error, or else the nearest one
 * above it: after Shift+Enter the failing cell is the one above).
 *
 * The request carries the error output exactly as the kernel sent it, the
 * notebook's cells in order, and the kernel's live variables (those on the
 * failing lines first). The proposal streams under the failing cell: the
 * cause, then an inline diff of each cell it changes, which may be an
 * earlier cell (a helper defined above). Stop (or Escape) cancels it on the
 * server; Apply puts each cell's new text in as one undo step of that cell,
 * and re-runs the changed cells and the failing one when "Re-run" is checked
 * (the `fixRerun` setting is its default); Discard leaves the notebook as it
 * was. Nothing is written into the notebook before Apply.
 *
 * When a new error output appears, its fix's prompt is prefetched
 * (fixPrefetch.ts), so that the click's first words come quickly.
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
import { CommandRegistry } from '@lumino/commands';

import { FixButtons } from './fixButtons';
import { FixPrefetcher } from './fixPrefetch';
import { FixSession } from './fixSession';
import { fixTargetOf, IFixTarget } from './fixTarget';
import { prepareFix } from './fixRequest';
import { IOutputLike, kernelError } from './fixText';
import { currentNotebook, watchSettings } from './notebook';
import { addProposalStopCommand, proposals } from './notebookProposals';
import { ProposalStarter } from './proposalSession';
import { runCells } from './runCells';

export const FIX_COMMAND = 'jupyter-codegen:fix';

/** The user's settings for fixes (schema/plugin.json). */
export interface IFixSettings {
  maxTokens: number;
  /** Whether "Re-run" starts checked. */
  rerun: boolean;
  liveContext: boolean;
}

export const fixPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:fix',
  description:
    'Fix an error with the local model: a Fix button on error outputs, the proposal as a diff to apply.',
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
    const settings: IFixSettings = {
      maxTokens: 1024,
      rerun: false,
      liveContext: true
    };
    const prefetcher = new FixPrefetcher((panel, cell, error) =>
      prepareFix(panel, cell, error, settings, languages)
    );
    watchSettings(settingRegistry, composite => {
      prefetcher.prefetch = composite.prefetch !== false;
      settings.maxTokens = (composite.fixMaxTokens as number) ?? 1024;
      settings.rerun = (composite.fixRerun as boolean) ?? false;
      settings.liveContext = (composite.liveContext as boolean) ?? true;
    });
    const starter = new ProposalStarter(app);
    let counter = 0;

    const current = () => currentNotebook(app, notebooks);

    const fix = async (target: IFixTarget): Promise<void> => {
      const { panel, cell, output } = target;
      const json = cell.model.outputs.get(output)?.toJSON() as
        IOutputLike | undefined;
      const error = kernelError(json);
      if (!error || panel.isDisposed) {
        return;
      }
      proposals.get(panel)?.discard();
      const prepared = await prepareFix(
        panel,
        cell,
        error,
        settings,
        languages
      );
      if (!prepared) {
        return;
      }
      const { body, failing, cells, language } = prepared;
      const session = new FixSession({
        panel,
        failing,
        body,
        requestId: `codegen-fix-${panel.id}-${++counter}`,
        cells,
        trans,
        language,
        rerun: settings.rerun,
        ename: error.ename,
        runCells: toRun => runCells(panel, toRun)
      });
      await starter.start(panel, cell, session);
    };

    const keysOf = (): string => {
      const binding = app.commands.keyBindings.find(
        b => b.command === FIX_COMMAND
      );
      return binding
        ? binding.keys.map(k => CommandRegistry.formatKeystroke(k)).join(' ')
        : '';
    };
    const buttons = new FixButtons(
      (panel, cell, output) => void fix({ panel, cell, output }),
      trans,
      keysOf,
      (panel, cell, output) => prefetcher.schedule(panel, cell, output)
    );
    notebooks.widgetAdded.connect((_, panel) => buttons.watch(panel));
    notebooks.forEach(panel => buttons.watch(panel));

    app.commands.addCommand(FIX_COMMAND, {
      label: trans.__('Fix Error'),
      caption: trans.__(
        'Propose a fix for the error of the active cell (or the nearest one above it) with the local model, as a diff to apply'
      ),
      isEnabled: args => fixTargetOf(args, notebooks, current) !== null,
      execute: async args => {
        const target = fixTargetOf(args, notebooks, current);
        if (target) {
          await fix(target);
        }
      }
    });
    addProposalStopCommand(app, current, trans, palette);

    app.contextMenu.addItem({
      command: FIX_COMMAND,
      args: { activeOnly: true },
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 62
    });
    palette?.addItem({ command: FIX_COMMAND, category: 'Codegen' });
  }
};
