/**
 * What a fix and an edit share: the request streamed from the server, the
 * proposal view under the cell (Stop, Apply, Discard), the outcome shown
 * when the stream ends, and the notebook's mark while it streams. A session
 * says how its events and its finished reply show in the view, and what
 * Apply does; `ProposalStarter` shows a plugin's sessions and runs them.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import type { Extension } from '@codemirror/state';

import { CodegenStream, streamRequest, StreamSlot } from './api';
import { IProposalHandle, proposals } from './notebookProposals';
import { attachUnderInput, ProposalView } from './proposalView';

/** What every proposal session knows. */
export interface IProposalSessionOptions {
  /** The endpoint, the name of its proposal events, and the view's kind. */
  kind: 'fix' | 'edit';
  panel: NotebookPanel;
  body: object;
  requestId: string;
  /** The view's heading. */
  title: string;
  trans: TranslationBundle;
  language: Extension | null;
  /** Whether "Re-run" starts checked; null: no such checkbox. */
  rerun: boolean | null;
}

/** One proposal: its stream, and its view under the cell. */
export abstract class ProposalSession<TReply> implements IProposalHandle {
  readonly view: ProposalView;
  private _stream: CodegenStream;
  private _reply: TReply | null = null;
  private _closed = false;
  private _panel: NotebookPanel;
  private _trans: TranslationBundle;

  protected constructor(options: IProposalSessionOptions) {
    const { kind, trans } = options;
    this._panel = options.panel;
    this._trans = trans;
    this._stream = streamRequest({
      endPoint: kind,
      body: options.body,
      requestId: options.requestId,
      onEvent: event => {
        if (event.event === kind) {
          if (!this._closed) {
            this.showPartial(event.data);
          }
        } else if (event.event === 'done') {
          this._reply = event.data as TReply;
        }
      },
      errorKind: kind
    });
    this.view = new ProposalView({
      kind,
      title: options.title,
      trans,
      language: options.language,
      rerun: options.rerun,
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
    const panel = this._panel;
    proposals.markStreaming(panel, true);
    const outcome = await slot.run(this._stream);
    if (proposals.get(panel) === this) {
      proposals.markStreaming(panel, false);
    }
    if (this._closed) {
      return;
    }
    if (outcome.state === 'done' && this._reply) {
      this.showReply(this._reply);
      this.view.setState('done');
    } else if (outcome.state === 'done') {
      // A proposal cut short is not offered for Apply.
      this.view.setState('error', this._trans.__('the reply ended early'));
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
    this.close();
  }

  /** Put the proposal into the notebook (the view's Apply). */
  abstract apply(): void | Promise<void>;

  /** Show a proposal event's data (the proposal so far); never once closed. */
  protected abstract showPartial(data: any): void;

  /** Show the finished reply, before the view is marked done. */
  protected abstract showReply(reply: TReply): void;

  /** Take the proposal off the screen and out of the notebook's registry. */
  protected close(): void {
    if (this._closed) {
      return;
    }
    this._closed = true;
    const panel = this._panel;
    if (proposals.get(panel) === this) {
      proposals.markStreaming(panel, false);
    }
    proposals.delete(panel, this);
    this.view.dispose();
  }
}

/** Shows a plugin's proposals and runs each in the plugin's notebook slot. */
export class ProposalStarter {
  private _slots = new WeakMap<NotebookPanel, StreamSlot>();

  constructor(private _app: JupyterFrontEnd) {}

  /**
   * Make `session` the notebook's proposal, show it under `cell`, and run
   * it; the commands' state is refreshed as it starts and when it ends.
   */
  async start(
    panel: NotebookPanel,
    cell: Cell,
    session: ProposalSession<unknown>
  ): Promise<void> {
    proposals.set(panel, session);
    attachUnderInput(cell, session.view);
    session.view.node.scrollIntoView?.({ block: 'nearest' });
    const done = session.run(this._slotOf(panel));
    this._app.commands.notifyCommandChanged();
    try {
      await done;
    } finally {
      this._app.commands.notifyCommandChanged();
    }
  }

  private _slotOf(panel: NotebookPanel): StreamSlot {
    let slot = this._slots.get(panel);
    if (!slot) {
      slot = new StreamSlot();
      this._slots.set(panel, slot);
    }
    return slot;
  }
}
