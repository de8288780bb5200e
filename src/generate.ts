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
import {
  ICommandPalette,
  InputDialog,
  Notification
} from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import type { ISharedCell } from '@jupyter/ydoc';

import {
  CodegenStream,
  IGenerateReply,
  IGenerateRequest,
  streamRequest,
  StreamSlot
} from './api';
import {
  buildGenerateRequest,
  codeOfReply,
  descriptionAt,
  GenerateInto,
  insertionPoint
} from './generateText';
import { liveNamespace, liveSource } from './kernelContext';
import { notebookCells, watchSettings } from './notebook';

export const GENERATE_COMMAND = 'jupyter-codegen:generate';
export const GENERATE_STOP_COMMAND = 'jupyter-codegen:generate-stop';

/** The class of a notebook while code is generated into it (Escape stops). */
export const GENERATING_CLASS = 'jp-codegen-generating';

/** The user's settings for generating (schema/plugin.json). */
export interface IGenerateSettings {
  into: GenerateInto;
  maxTokens: number;
  liveContext: boolean;
}

type GenerationState = 'streaming' | 'done' | 'stopped' | 'error';

/** Where in the notebook the code goes. */
interface ITarget {
  /** The cell that receives the code; null until a new cell is inserted. */
  cell: ISharedCell | null;
  /** For a new cell: the index it gets. */
  index: number;
  offset: number;
  lead: string;
}

/** One generation into a notebook: the stream, and the text written so far. */
export class Generation {
  state: GenerationState = 'streaming';
  raw = '';
  private _written = '';
  private _bar: HTMLElement;
  private _reply: IGenerateReply | null = null;
  private _stream: CodegenStream;

  constructor(
    readonly panel: NotebookPanel,
    requestId: string,
    body: IGenerateRequest,
    private _target: ITarget,
    onStop: () => void
  ) {
    this._stream = streamRequest({
      endPoint: 'generate',
      body,
      requestId,
      onEvent: event => {
        if (event.event === 'text') {
          this.raw += String(event.data?.delta ?? '');
          this._show(codeOfReply(this.raw));
        } else if (event.event === 'done') {
          this._reply = event.data as IGenerateReply;
        }
      },
      errorKind: 'generation'
    });
    panel.content.node.classList.add(GENERATING_CLASS);
    this._bar = document.createElement('div');
    this._bar.className = 'jp-codegen-GenerateBar';
    const label = document.createElement('span');
    label.textContent = 'Generating code… (Escape stops)';
    const stop = document.createElement('button');
    stop.className = 'jp-Button jp-mod-styled jp-mod-minimal';
    stop.textContent = 'Stop';
    stop.dataset.action = 'stop-generate';
    stop.title = 'Stop generating code (Escape)';
    stop.addEventListener('click', onStop);
    this._bar.append(label, stop);
    panel.node.appendChild(this._bar);
  }

  /**
   * Run the request in `slot` (stopping the one before it), streaming the
   * code into the target.
   */
  async run(slot: StreamSlot): Promise<void> {
    const outcome = await slot.run(this._stream);
    // The server's final code when it got that far (it may be cleaner).
    const reply = outcome.state !== 'error' ? this._reply : null;
    this._finish(outcome.state, reply ? reply.code : codeOfReply(this.raw));
    if (outcome.state === 'error') {
      Notification.error(`Generate code: ${outcome.message}`, {
        autoClose: 8000
      });
    }
  }

  /** Stop it here and on the server; the code so far stays. */
  stop(): void {
    this._stream.stop();
  }

  /** Replace what this generation wrote with `code`, outside the undo history. */
  private _show(code: string): void {
    if (this.state !== 'streaming' || (!code && !this._written)) {
      return;
    }
    const text = code ? this._target.lead + code : '';
    if (!this._ensureCell()) {
      return;
    }
    if (!this._replace(text, false)) {
      // The user edited what is being written: leave it to them.
      this.stop();
    }
  }

  private _finish(state: GenerationState, code: string): void {
    if (this.state === 'streaming' && (code || this._written)) {
      const text = code ? this._target.lead + code : '';
      if (this._ensureCell() && this._replace('', false)) {
        // One tracked change: the cell's undo takes the code out at once.
        stopCapturing(this._target.cell);
        this._replace(text, true);
        stopCapturing(this._target.cell);
      }
    }
    this.state = state;
    this.panel.content.node.classList.remove(GENERATING_CLASS);
    this._bar.remove();
  }

  /** The target cell, inserted below the active one the first time. */
  private _ensureCell(): boolean {
    if (this._target.cell) {
      return !this._target.cell.isDisposed;
    }
    const model = this.panel.model?.sharedModel;
    if (!model || this.panel.isDisposed) {
      return false;
    }
    const index = Math.min(this._target.index, model.cells.length);
    // One notebook change (undo cell operation removes it), kept apart from
    // the changes before it.
    stopCapturing(model);
    const cell = model.insertCell(index, { cell_type: 'code', source: '' });
    stopCapturing(model);
    this._target.cell = cell;
    const notebook = this.panel.content;
    notebook.mode = 'command';
    notebook.activeCellIndex = index;
    return true;
  }

  /**
   * Put `text` where this generation's text is; false (and nothing changed)
   * when the cell no longer holds what was written there.
   */
  private _replace(text: string, undoable: boolean): boolean {
    const cell = this._target.cell;
    if (!cell || cell.isDisposed) {
      return false;
    }
    const start = this._target.offset;
    const end = start + this._written.length;
    if (cell.getSource().slice(start, end) !== this._written) {
      return false;
    }
    cell.transact(() => cell.updateSource(start, end, text), undoable);
    this._written = text;
    return true;
  }
}

/**
 * Make the next change of a shared model (a Yjs document or cell) an undo
 * step of its own, not merged with the changes just before or after it.
 */
function stopCapturing(shared: unknown): void {
  const manager = (
    shared as { undoManager?: { stopCapturing?: () => void } | null } | null
  )?.undoManager;
  manager?.stopCapturing?.();
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
        const target: ITarget =
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
