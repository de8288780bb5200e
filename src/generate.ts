/**
 * "Generate Code from a Description…": in the cell context menu, the command
 * palette, and on Alt+G. It asks for a description (the comment at the
 * cursor, or the one that ends the cell, prefilled), and streams the code
 * from `/generate` into a new cell below the active one, or at the cursor of
 * an empty cell (or always, with the `generateInto` setting). The request
 * carries the same context as ghost text, and the kernel's live variables.
 *
 * - Stop (Escape, the Stop button, or the "Stop Generating Code" command)
 *   aborts the stream and cancels the generation on the server; the code
 *   so far stays.
 * - Undo: the streamed text is written outside the undo history, and the
 *   finished code is put in as one tracked change. In the cell, Ctrl+Z takes
 *   the code out; in command mode, Z (undo cell operation) removes the new
 *   cell, which was inserted as one notebook change.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, InputDialog } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { StreamSlot } from './api';
import {
  buildGenerateRequest,
  descriptionAt,
  GenerateInto,
  insertionPoint
} from './generateText';
import { Generation, IGenerationTarget } from './generation';
import { liveNamespace, liveSource } from './kernelContext';
import { notebookCells, watchSettings } from './notebook';

export const GENERATE_COMMAND = 'jupyter-codegen:generate';
export const GENERATE_STOP_COMMAND = 'jupyter-codegen:generate-stop';

/** The user's settings for generating (schema/plugin.json). */
export interface IGenerateSettings {
  into: GenerateInto;
  maxTokens: number;
  liveContext: boolean;
}

/** Ask for the description, prefilled with the one the cell holds. */
async function askDescription(prefill: string): Promise<string | null> {
  const result = await InputDialog.getText({
    title: 'Generate code',
    label: 'Describe the code to write',
    text: prefill,
    placeholder: 'e.g. plot the mean price per region',
    okLabel: 'Generate'
  });
  const value = result.button.accept ? (result.value ?? '').trim() : '';
  return value || null;
}

export const generatePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:generate',
  description:
    'Generate code from a description with the local model, streamed into the notebook.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const settings: IGenerateSettings = {
      into: 'newCell',
      maxTokens: 512,
      liveContext: true
    };
    watchSettings(settingRegistry, composite => {
      settings.into =
        composite.generateInto === 'cursor' ? 'cursor' : 'newCell';
      settings.maxTokens = (composite.generateMaxTokens as number) ?? 512;
      settings.liveContext = (composite.liveContext as boolean) ?? true;
    });
    // The generation in flight in each notebook: a new one stops it.
    const running = new WeakMap<NotebookPanel, StreamSlot>();
    const slotOf = (panel: NotebookPanel): StreamSlot => {
      let slot = running.get(panel);
      if (!slot) {
        slot = new StreamSlot();
        running.set(panel, slot);
      }
      return slot;
    };
    let counter = 0;

    const current = (): NotebookPanel | null => {
      const panel = notebooks.currentWidget;
      return panel && panel === app.shell.currentWidget ? panel : null;
    };

    app.commands.addCommand(GENERATE_COMMAND, {
      label: 'Generate Code from a Description…',
      caption:
        'Describe the code to write; the local model streams it into a new cell below',
      isEnabled: () => current() !== null,
      execute: async args => {
        const panel = current();
        const cell = panel?.content.activeCell;
        if (!panel || !cell) {
          return;
        }
        running.get(panel)?.stop();
        const source = cell.model.sharedModel.getSource();
        const editor = cell.editor;
        const cursor = editor
          ? editor.getOffsetAt(editor.getCursorPosition())
          : source.length;
        const description =
          typeof args.description === 'string' && args.description.trim()
            ? args.description
            : await askDescription(descriptionAt(source, cursor));
        if (!description || panel.isDisposed) {
          return;
        }
        const isCode = cell.model.type === 'code';
        const into: GenerateInto =
          args.into === 'cursor' || args.into === 'newCell'
            ? (args.into as GenerateInto)
            : isCode && (!source.trim() || settings.into === 'cursor')
              ? 'cursor'
              : 'newCell';
        const context = notebookCells(panel);
        const point =
          into === 'cursor' && isCode
            ? insertionPoint(source, cursor)
            : { offset: 0, lead: '' };
        const target: IGenerationTarget =
          into === 'cursor' && isCode
            ? { cell: cell.model.sharedModel, index: context.active, ...point }
            : { cell: null, index: context.active + 1, offset: 0, lead: '' };
        const namespace = await liveNamespace(
          panel.sessionContext,
          liveSource(
            context.cells[context.active]?.source ?? '',
            context.cells,
            context.active
          ),
          settings.liveContext
        ).catch(() => '');
        const requestId = `codegen-generate-${panel.id}-${++counter}`;
        const body = buildGenerateRequest({
          description,
          cells: context.cells,
          active: context.active,
          into: target.cell ? 'cursor' : 'newCell',
          before: source.slice(0, point.offset),
          language: context.language,
          namespace,
          maxTokens: settings.maxTokens,
          requestId
        });
        const generation = new Generation(panel, requestId, body, target, () =>
          generation.stop()
        );
        panel.disposed.connect(() => generation.stop());
        const done = generation.run(slotOf(panel));
        app.commands.notifyCommandChanged(GENERATE_STOP_COMMAND);
        try {
          await done;
        } finally {
          app.commands.notifyCommandChanged(GENERATE_STOP_COMMAND);
        }
      }
    });

    app.commands.addCommand(GENERATE_STOP_COMMAND, {
      label: 'Stop Generating Code',
      caption: 'Stop the code being generated into this notebook',
      isEnabled: () => {
        const panel = current();
        return !!panel && !!running.get(panel)?.current;
      },
      execute: () => {
        const panel = current();
        if (panel) {
          running.get(panel)?.stop();
        }
      }
    });

    app.contextMenu.addItem({
      command: GENERATE_COMMAND,
      selector: '.jp-Notebook .jp-Cell',
      rank: 61
    });
    palette?.addItem({ command: GENERATE_COMMAND, category: 'Codegen' });
    palette?.addItem({ command: GENERATE_STOP_COMMAND, category: 'Codegen' });
  }
};
