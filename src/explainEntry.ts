/**
 * One entry of the Explain panel: an explanation, or an answer to a
 * question, streamed from the server and rendered as it comes. Model output
 * is untrusted: it is made inert (raw HTML as text, images as their alt
 * text) and rendered by rendermime with `trusted: false`, so the sanitizer
 * also runs.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { CodegenStream, IExplainRequest, streamRequest } from './api';
import { inertMarkdown } from './request';

export type EntryState = 'streaming' | 'done' | 'stopped' | 'error';

/**
 * One explanation, or one answer to a question: the code (shown on the first
 * entry of a conversation), the question, the streamed markdown, its state.
 */
export class ExplainEntry extends Widget {
  text = '';
  state: EntryState = 'streaming';
  /** The request that streams the text. */
  readonly stream: CodegenStream;
  private _renderer: IRenderMime.IRenderer;
  private _status: HTMLElement;
  private _renderPending = false;

  constructor(
    readonly request: IExplainRequest,
    requestId: string,
    /** Entries of one conversation (a question and its follow-ups) share it. */
    readonly conversation: number,
    followUp: boolean,
    rendermime: IRenderMimeRegistry
  ) {
    super();
    this.stream = streamRequest({
      endPoint: 'explain',
      body: request,
      requestId,
      onEvent: event => {
        if (event.event === 'explanation') {
          this.append(String(event.data?.delta ?? ''));
        }
      },
      errorKind: 'explanation'
    });
    this.addClass('jp-codegen-ExplainEntry');
    if (!followUp) {
      const code_ = document.createElement('pre');
      code_.className = 'jp-codegen-ExplainCode';
      const lines = request.code.split('\n');
      code_.textContent =
        lines.slice(0, 6).join('\n') + (lines.length > 6 ? '\n…' : '');
      this.node.append(code_);
    }
    if (request.question) {
      const question = document.createElement('div');
      question.className = 'jp-codegen-ExplainQuestionText';
      question.textContent = request.question;
      this.node.append(question);
    }
    this._status = document.createElement('div');
    this._status.className = 'jp-codegen-ExplainStatus';
    this._renderer = rendermime.createRenderer('text/markdown');
    this._renderer.addClass('jp-codegen-ExplainBody');
    this.node.append(this._status);
    this.node.appendChild(this._renderer.node);
    this._setState('streaming');
  }

  get code(): string {
    return this.request.code;
  }

  get question(): string | undefined {
    return this.request.question ?? undefined;
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
      streaming: this.question ? 'Answering…' : 'Explaining…',
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
