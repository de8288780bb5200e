/**
 * The side panel that shows streamed explanations, with a short history per
 * document. Model output is untrusted: it is made inert (raw HTML as text,
 * images as their alt text) and rendered by rendermime with `trusted: false`,
 * so the sanitizer also runs.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

import {
  CodegenAPIError,
  cancelRequest,
  IExplainRequest,
  streamAPI
} from './api';
import { inertMarkdown } from './request';
import { requestErrors } from './requestErrors';

/** History entries kept per document. */
export const HISTORY_SIZE = 10;

type EntryState = 'streaming' | 'done' | 'stopped' | 'error';

/** One explanation: the code, the streamed markdown, and its state. */
class ExplainEntry extends Widget {
  text = '';
  state: EntryState = 'streaming';
  readonly controller = new AbortController();
  private _renderer: IRenderMime.IRenderer;
  private _status: HTMLElement;
  private _renderPending = false;

  constructor(
    readonly code: string,
    readonly requestId: string,
    rendermime: IRenderMimeRegistry
  ) {
    super();
    this.addClass('jp-codegen-ExplainEntry');
    const code_ = document.createElement('pre');
    code_.className = 'jp-codegen-ExplainCode';
    const lines = code.split('\n');
    code_.textContent =
      lines.slice(0, 6).join('\n') + (lines.length > 6 ? '\n…' : '');
    this._status = document.createElement('div');
    this._status.className = 'jp-codegen-ExplainStatus';
    this._renderer = rendermime.createRenderer('text/markdown');
    this._renderer.addClass('jp-codegen-ExplainBody');
    this.node.append(code_, this._status);
    this.node.appendChild(this._renderer.node);
    this._setState('streaming');
  }

  append(delta: string): void {
    this.text += delta;
    this._scheduleRender();
  }

  finish(state: EntryState, message?: string): void {
    this._setState(state, message);
    void this._render();
  }

  private _setState(state: EntryState, message?: string): void {
    this.state = state;
    this.node.dataset.state = state;
    const label: Record<EntryState, string> = {
      streaming: 'Explaining…',
      done: '',
      stopped: 'Stopped.',
      error: `Error: ${message ?? ''}`
    };
    this._status.textContent = label[state];
  }

  private _scheduleRender(): void {
    if (this._renderPending) {
      return;
    }
    this._renderPending = true;
    setTimeout(() => {
      this._renderPending = false;
      void this._render();
    }, 100);
  }

  private async _render(): Promise<void> {
    const model = new MimeModel({
      data: { 'text/markdown': inertMarkdown(this.text) },
      trusted: false
    });
    await this._renderer.renderModel(model);
  }
}

/** The Explain panel. */
export class ExplainPanel extends Panel {
  private _entries = new Map<string, ExplainEntry[]>();
  private _document = '';
  private _list: Panel;
  private _stop: HTMLButtonElement;
  private _copy: HTMLButtonElement;
  private _counter = 0;

  constructor(private _rendermime: IRenderMimeRegistry) {
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
    const requestId = `codegen-explain-${Date.now()}-${++this._counter}`;
    const entry = new ExplainEntry(request.code, requestId, this._rendermime);
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
    entry.node.scrollIntoView({ block: 'start' });
    try {
      await streamAPI(
        'explain',
        { ...request, request_id: requestId },
        event => {
          if (event.event === 'explanation') {
            entry.append(String(event.data?.delta ?? ''));
          }
        },
        entry.controller.signal
      );
      entry.finish(entry.controller.signal.aborted ? 'stopped' : 'done');
      requestErrors.clear('explanation');
    } catch (reason) {
      if (entry.controller.signal.aborted) {
        entry.finish('stopped');
      } else {
        const message =
          reason instanceof CodegenAPIError
            ? reason.message
            : String((reason as Error)?.message ?? reason);
        entry.finish('error', message);
        requestErrors.report('explanation', reason);
      }
    }
    this._update();
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
    if (entry.state === 'streaming') {
      entry.controller.abort();
      cancelRequest(entry.requestId).catch(() => {
        // Already finished on the server.
      });
    }
  }

  private _update(): void {
    const entries = this._entries.get(this._document) ?? [];
    this._stop.disabled = !entries.some(e => e.state === 'streaming');
    this._copy.disabled = !entries.length;
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
