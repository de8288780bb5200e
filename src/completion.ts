/**
 * The inline completion provider: ghost text from the local model.
 *
 * - Automatic requests wait `debounceMs`; a newer keystroke drops them.
 * - Every new request first cancels the one in flight, on the server too
 *   (the fetch is aborted and `POST /cancel` is sent), so stale generations
 *   never hold the model.
 * - While the user types characters that match the suggestion on screen, the
 *   rest of that suggestion is returned without asking the server again.
 * - Replies stream: `fetch` returns at once with empty, incomplete items, and
 *   `stream()` yields each candidate's text as the server sends it, so the
 *   completer's timeout never hides a slow CPU generation.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  CompletionHandler,
  ICompletionProviderManager,
  IInlineCompletionContext,
  IInlineCompletionItem,
  IInlineCompletionList,
  IInlineCompletionProvider,
  InlineCompletionTriggerKind
} from '@jupyterlab/completer';
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Widget } from '@lumino/widgets';

import { streamRequest, StreamSlot } from './api';
import { CompletionStream } from './completionStream';
import {
  buildCompleteRequest,
  DEFAULT_SETTINGS,
  ICompletionSettings,
  IEditorSnapshot,
  IShownSuggestion,
  remainingSuggestion
} from './request';
import {
  consoleCells,
  isConsolePanel,
  notebookCells,
  PLUGIN_ID,
  snapshotNamespace,
  watchSettings
} from './notebook';
import { lastPrompts } from './prefetchRules';
import { showFirstSuggestionHint } from './hint';

/** The plugin that owns the user's settings (schema/plugin.json). */
export { PLUGIN_ID };

/** The provider's identifier; the ghost text carries it in `data-provided-by`. */
export const PROVIDER_ID = 'jupyter-codegen';

/** What the provider needs from the widget that asked. */
export function snapshotOf(
  request: CompletionHandler.IRequest,
  widget: Widget
): IEditorSnapshot {
  const snapshot: IEditorSnapshot = {
    text: request.text,
    offset: request.offset,
    mimeType: request.mimeType
  };
  if (widget instanceof NotebookPanel) {
    const notebook = notebookCells(widget, request.text);
    snapshot.path = notebook.path;
    snapshot.activeCell = notebook.active;
    snapshot.cells = notebook.cells;
    snapshot.kernelLanguage = notebook.language;
  } else if (isConsolePanel(widget)) {
    // A code console: its earlier inputs come before the prompt cell.
    const console = consoleCells(widget, request.text);
    snapshot.activeCell = console.active;
    snapshot.cells = console.cells;
  } else {
    const context = (widget as any).context;
    if (context && typeof context.path === 'string') {
      snapshot.path = context.path;
    }
  }
  return snapshot;
}

export class CodegenInlineProvider implements IInlineCompletionProvider {
  readonly identifier = PROVIDER_ID;
  readonly name = 'Codegen (local model)';
  /**
   * Defaults of this provider's entry in the inline completer's settings.
   * Fill-in-the-middle is on: an editor that closes brackets puts code after
   * the cursor on almost every line. Replies stream, so the timeout only
   * bounds the wait before the first (empty) item.
   */
  readonly schema = {
    default: {
      enabled: true,
      autoFillInMiddle: true,
      debouncerDelay: 0,
      timeout: 10000
    }
  };
  settings: ICompletionSettings = { ...DEFAULT_SETTINGS };

  private _current: CompletionStream | null = null;
  /** The request in flight: a newer one stops it, here and on the server. */
  private _inFlight = new StreamSlot();
  private _shown: IShownSuggestion | null = null;
  private _streams = new Map<
    string,
    { stream: CompletionStream; index: number; typed: string }
  >();
  private _counter = 0;
  private _tokens = 0;
  private _pending = 0;

  async fetch(
    request: CompletionHandler.IRequest,
    context: IInlineCompletionContext
  ): Promise<IInlineCompletionList> {
    const settings = this.settings;
    const invoked = context.triggerKind === InlineCompletionTriggerKind.Invoke;
    if (!settings.enabled || (!invoked && settings.trigger === 'manual')) {
      return { items: [] };
    }
    const snapshot = snapshotOf(request, context.widget);
    const prefix = snapshot.text.slice(0, snapshot.offset);
    const suffix = snapshot.text.slice(snapshot.offset);

    // Typing along the suggestion on screen: keep showing the rest of it.
    if (!invoked && this._current) {
      const reuse = remainingSuggestion(this._shown, prefix, suffix);
      if (reuse) {
        return { items: this._items(this._current, reuse.typed) };
      }
    }

    // Anything else makes the request in flight stale: stop it now.
    this._cancelCurrent();
    const pending = ++this._pending;
    if (!invoked && settings.debounceMs > 0) {
      await new Promise(resolve => setTimeout(resolve, settings.debounceMs));
      if (pending !== this._pending) {
        return { items: [] };
      }
    }
    // The kernel's live variables (only an idle Python kernel is asked).
    const namespace = snapshotNamespace(
      context.widget,
      snapshot,
      settings.liveContext
    );
    if (namespace) {
      snapshot.namespace = await namespace;
      if (pending !== this._pending) {
        return { items: [] };
      }
    }
    const candidates = invoked ? Math.max(1, settings.candidates) : 1;
    const id = `${++this._counter}`;
    const requestId = `codegen-${context.widget.id}-${id}`;
    const stream = new CompletionStream(id, candidates);
    const streamed = streamRequest({
      endPoint: 'complete',
      body: buildCompleteRequest(snapshot, settings, { candidates, requestId }),
      requestId,
      onEvent: event => stream.receive(event),
      errorKind: 'completion'
    });
    lastPrompts.remember(snapshot);
    this._current = stream;
    this._shown = { prefix, suffix, candidates: stream.texts };
    void this._inFlight.run(streamed).then(outcome => stream.finish(outcome));
    return { items: this._items(stream, '') };
  }

  async *stream(
    token: string
  ): AsyncGenerator<{ response: IInlineCompletionItem }> {
    const entry = this._streams.get(token);
    if (!entry) {
      return;
    }
    this._streams.delete(token);
    const { stream, index, typed } = entry;
    for await (const text of stream.updates(index)) {
      if (!text.startsWith(typed)) {
        // The candidate changed under the typed text: show nothing rather than a mismatch.
        yield { response: { insertText: '' } };
        continue;
      }
      const insertText = text.slice(typed.length);
      if (insertText.trim()) {
        suggestionShown();
      }
      yield { response: { insertText } };
    }
    if (stream.error) {
      yield { response: { insertText: '', error: { message: stream.error } } };
    }
  }

  /** Cancel what is in flight (a keystroke elsewhere, the panel closing). */
  dispose(): void {
    this._cancelCurrent();
  }

  private _items(
    stream: CompletionStream,
    typed: string
  ): IInlineCompletionItem[] {
    const items: IInlineCompletionItem[] = [];
    for (let index = 0; index < stream.candidates; index++) {
      const text = stream.texts[index] ?? '';
      if (stream.done) {
        if (text.length > typed.length && text.startsWith(typed)) {
          items.push({ insertText: text.slice(typed.length) });
          suggestionShown();
        }
        continue;
      }
      const token = `${stream.id}:${index}:${++this._tokens}`;
      this._streams.set(token, { stream, index, typed });
      items.push({
        insertText: text.startsWith(typed) ? text.slice(typed.length) : '',
        isIncomplete: true,
        token
      });
    }
    return items;
  }

  private _cancelCurrent(): void {
    this._inFlight.stop();
    if (this._current) {
      // Drop the tokens of a stream that will never finish its items.
      for (const [token, entry] of this._streams) {
        if (entry.stream === this._current) {
          this._streams.delete(token);
        }
      }
      this._current = null;
      this._shown = null;
    }
  }
}

/** Ghost text is on screen: the first time in a session, name the keys. */
function suggestionShown(): void {
  showFirstSuggestionHint(text => {
    Notification.info(text, { autoClose: 10000 });
  });
}

/** Settings of `schema/plugin.json` as the provider's settings. */
export function readSettings(
  composite: Record<string, any>
): ICompletionSettings {
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(DEFAULT_SETTINGS)) {
    if (composite[key] !== undefined) {
      settings[key] = composite[key];
    }
  }
  return settings as unknown as ICompletionSettings;
}

/**
 * Registers the provider in `activate` (a provider registered later gets no
 * settings entry and stays disabled) and keeps it in step with the settings.
 */
export const completionPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Inline (ghost text) completions from the local code model.',
  autoStart: true,
  requires: [ICompletionProviderManager],
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    manager: ICompletionProviderManager,
    settingRegistry: ISettingRegistry | null
  ) => {
    const provider = new CodegenInlineProvider();
    manager.registerInlineProvider(provider);
    watchSettings(settingRegistry, composite => {
      provider.settings = readSettings(composite);
    });
  }
};
