/**
 * One generation of code into a notebook: the code streamed from
 * `/generate` into its cell (a new cell below the active one, inserted when
 * the first code comes, or the active cell at the cursor), and the bar with
 * Stop shown on the notebook while it streams. The streamed text is written
 * outside the undo history, and the finished code is put in as one tracked
 * change; a new cell is inserted as one notebook change.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import type { ISharedCell } from '@jupyter/ydoc';

import {
  CodegenStream,
  IGenerateReply,
  IGenerateRequest,
  streamRequest,
  StreamSlot
} from './api';
import { stopCapturing } from './applyText';
import { codeOfReply } from './generateText';

/** The class of a notebook while code is generated into it (Escape stops). */
export const GENERATING_CLASS = 'jp-codegen-generating';

export type GenerationState = 'streaming' | 'done' | 'stopped' | 'error';

/** Where in the notebook the code goes. */
export interface IGenerationTarget {
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
    private _target: IGenerationTarget,
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
