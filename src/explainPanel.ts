/**
 * The side panel that shows streamed explanations (each an entry of
 * explainEntry.ts, where model output is made inert), with a short history
 * per document, and the question box that asks about the selection or the
 * cell, or follows up on the latest conversation.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { IExplainRequest } from './api';
import { ExplainEntry } from './explainEntry';
import { conversationHistory } from './request';
import { MAX_QUESTION_CHARS } from './wire.generated';

/** History entries kept per document. */
export const HISTORY_SIZE = 10;

/** The longest question the server accepts (generated from the schemas). */
export { MAX_QUESTION_CHARS };

/** What to explain or ask about: a document's path and the request. */
export interface IExplainTarget {
  path: string;
  request: IExplainRequest;
}

/** The Explain panel. */
export class ExplainPanel extends Panel {
  private _entries = new Map<string, ExplainEntry[]>();
  private _document = '';
  private _list: Panel;
  private _stop: HTMLButtonElement;
  private _copy: HTMLButtonElement;
  private _question: HTMLTextAreaElement;
  private _ask: HTMLButtonElement;
  private _counter = 0;

  /**
   * `target` tells what a new question is about (the selection, or else the
   * active cell or file), or null when there is no code to ask about.
   */
  constructor(
    private _rendermime: IRenderMimeRegistry,
    private _target: () => IExplainTarget | null = () => null
  ) {
    super();
    this.id = 'jupyter-codegen-explain';
    this.addClass('jp-codegen-ExplainPanel');
    this.title.label = 'Explain';
    this.title.caption = 'Explanations from the local code model';
    this.title.closable = true;

    const toolbar = document.createElement('div');
    toolbar.className = 'jp-codegen-ExplainToolbar';
    this._stop = this._button(
      'Stop',
      'Stop the explanation being written',
      () => this.stop()
    );
    this._copy = this._button(
      'Copy',
      'Copy the latest explanation as Markdown',
      () => this.copy()
    );
    const clear = this._button('Clear', 'Clear this document’s history', () =>
      this.clear()
    );
    toolbar.append(this._stop, this._copy, clear);
    const header = new Widget({ node: toolbar });
    this._list = new Panel();
    this._list.addClass('jp-codegen-ExplainList');
    this.addWidget(header);
    this.addWidget(this._list);

    const ask = document.createElement('div');
    ask.className = 'jp-codegen-ExplainAsk';
    this._question = document.createElement('textarea');
    this._question.className = 'jp-codegen-ExplainQuestion';
    this._question.rows = 2;
    this._question.maxLength = MAX_QUESTION_CHARS;
    this._question.placeholder = 'Ask about the selection or the cell…';
    this._question.title = 'Enter sends; Shift+Enter starts a new line';
    this._question.setAttribute('aria-label', 'Question about the code');
    this._question.addEventListener('keydown', event => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.ask(this._question.value);
      }
    });
    this._ask = this._button(
      'Ask',
      'Ask about the selection or the cell; a follow-up while the conversation is about the same code',
      () => void this.ask(this._question.value)
    );
    ask.append(this._question, this._ask);
    this.addWidget(new Widget({ node: ask }));
    this._update();
  }

  /** Show the history of `path` (the current notebook or file). */
  setDocument(path: string): void {
    if (path === this._document) {
      return;
    }
    this._document = path;
    while (this._list.widgets.length) {
      this._list.widgets[0].parent = null;
    }
    for (const entry of this._entries.get(path) ?? []) {
      this._list.addWidget(entry);
    }
    this._update();
  }

  /** Ask the server to explain `request.code`, streaming into a new entry. */
  async explain(path: string, request: IExplainRequest): Promise<void> {
    this.setDocument(path);
    await this._run(request, ++this._counter, false);
  }

  /**
   * Ask `question`: a follow-up (with the conversation so far) when the
   * selection, or else the cell, is the code of the latest conversation, or
   * else a new question about it.
   */
  async ask(question: string): Promise<void> {
    question = question.trim().slice(0, MAX_QUESTION_CHARS);
    const busy = (this._entries.get(this._document) ?? []).some(
      entry => entry.state === 'streaming'
    );
    if (!question || busy) {
      return;
    }
    const target = this._target();
    if (target) {
      this.setDocument(target.path);
    }
    const latest = this._latest();
    if (latest && (!target || target.request.code === latest.code)) {
      const earlier = (this._entries.get(this._document) ?? []).filter(
        entry => entry.conversation === latest.conversation
      );
      const history = conversationHistory(
        earlier.map(entry => ({ question: entry.question, answer: entry.text }))
      );
      this._question.value = '';
      const { request } = latest;
      await this._run(
        { ...request, question, history },
        latest.conversation,
        true
      );
    } else if (target) {
      this._question.value = '';
      await this._run(
        { ...target.request, question, history: [] },
        ++this._counter,
        false
      );
    }
  }

  private async _run(
    request: IExplainRequest,
    conversation: number,
    followUp: boolean
  ): Promise<void> {
    const path = this._document;
    const requestId = `codegen-explain-${Date.now()}-${++this._counter}`;
    const entry = new ExplainEntry(
      request,
      requestId,
      conversation,
      followUp,
      this._rendermime
    );
    const history = this._entries.get(path) ?? [];
    history.push(entry);
    while (history.length > HISTORY_SIZE) {
      const old = history.shift()!;
      this._abort(old);
      old.dispose();
    }
    this._entries.set(path, history);
    this._list.addWidget(entry);
    this._update();
    entry.node.scrollIntoView?.({ block: 'start' });
    const outcome = await entry.stream.run();
    entry.finish(
      outcome.state,
      outcome.state === 'error' ? outcome.message : undefined
    );
    this._update();
  }

  /** Put the keyboard focus in the question box. */
  focusQuestion(): void {
    this._question.focus();
  }

  /** Stop the explanation being written in this document. */
  stop(): void {
    for (const entry of this._entries.get(this._document) ?? []) {
      this._abort(entry);
    }
    this._update();
  }

  /** Copy the latest explanation's Markdown. */
  copy(): void {
    const latest = this._latest();
    if (latest) {
      Clipboard.copyToSystem(latest.text);
    }
  }

  clear(): void {
    for (const entry of this._entries.get(this._document) ?? []) {
      this._abort(entry);
      entry.dispose();
    }
    this._entries.delete(this._document);
    this._update();
  }

  dispose(): void {
    for (const entries of this._entries.values()) {
      entries.forEach(entry => this._abort(entry));
    }
    super.dispose();
  }

  private _latest(): ExplainEntry | undefined {
    const entries = this._entries.get(this._document) ?? [];
    return entries[entries.length - 1];
  }

  private _abort(entry: ExplainEntry): void {
    entry.stream.stop();
  }

  private _update(): void {
    const entries = this._entries.get(this._document) ?? [];
    this._stop.disabled = !entries.some(e => e.state === 'streaming');
    this._copy.disabled = !entries.length;
    this._ask.disabled = entries.some(e => e.state === 'streaming');
    this.node.dataset.empty = String(!entries.length);
  }

  private _button(
    label: string,
    title: string,
    onClick: () => void
  ): HTMLButtonElement {
    const button = document.createElement('button');
    button.className =
      'jp-Button jp-mod-styled jp-mod-minimal jp-codegen-ExplainButton';
    button.textContent = label;
    button.title = title;
    button.dataset.action = label.toLowerCase();
    button.addEventListener('click', onClick);
    return button;
  }
}
