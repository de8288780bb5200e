/**
 * Prefetch: warm the model's prompt cache for the cell the user is on, so
 * that the first keystroke there does not wait for the whole context.
 *
 * When a notebook (or a file editor) becomes current, or the active cell
 * changes, and after `PREFETCH_DEBOUNCE_MS` of quiet, the request that a
 * completion at the cell's cursor would send (built exactly as the provider
 * builds it) goes to `POST /jupyter-codegen/prefetch`. The server computes
 * its prompt up to the cursor at low priority: only on an idle model, and any
 * real request stops it within one layer. Each document has one request id,
 * so a newer prefetch supersedes the older one; the older fetch is aborted.
 *
 * Nothing is sent when the `prefetch` setting or inline completions are off,
 * the cell is not code, the same prompt was just completed or prefetched,
 * the device saves battery or data, or the model is not ready or busy. A
 * failed prefetch is silent (a debug log line).
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import type { ISessionContext } from '@jupyterlab/apputils';
import type { CodeEditor } from '@jupyterlab/codeeditor';
import { CompletionHandler } from '@jupyterlab/completer';
import { IEditorTracker } from '@jupyterlab/fileeditor';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Widget } from '@lumino/widgets';

import { fetchStatus, requestAPI } from './api';
import { PROVIDER_ID, readSettings, snapshotOf } from './completion';
import { sessionContextOf, snapshotNamespace, watchSettings } from './notebook';
import {
  Debouncer,
  kernelAtRest,
  lastPrompts,
  IPowerSources,
  PowerSignals,
  PREFETCH_DEBOUNCE_MS,
  prefetchRequestId,
  PromptMemory,
  promptFingerprint,
  providerEnabledIn,
  RETRY_MS,
  savingPower,
  skipReason,
  statusSkipReason,
  SUPERSEDE_SETTLE_MS
} from './prefetchRules';
import { buildCompleteRequest, DEFAULT_SETTINGS } from './request';
import type { ICompletionSettings } from './request';
import type { IPrefetchReply } from './wire.generated';

/** The settings plugin of JupyterLab's inline completer. */
const INLINE_COMPLETER_PLUGIN =
  '@jupyterlab/completer-extension:inline-completer';

/** The place a prefetch is made for. */
interface IPrefetchTarget {
  widget: Widget;
  /** The active cell's (or file's) text, cursor and MIME type. */
  request: CompletionHandler.IRequest;
  cellType: string;
}

/** The cursor's offset in `editor`, or the end of `text` without an editor. */
function cursorOffset(
  editor: CodeEditor.IEditor | null | undefined,
  text: string
): number {
  if (!editor) {
    return text.length;
  }
  try {
    const offset = editor.getOffsetAt(editor.getCursorPosition());
    return Math.max(0, Math.min(text.length, offset));
  } catch {
    return text.length;
  }
}

function debug(message: string, detail?: unknown): void {
  if (detail === undefined) {
    console.debug(`jupyter-codegen: prefetch: ${message}`);
  } else {
    console.debug(`jupyter-codegen: prefetch: ${message}`, detail);
  }
}

export class Prefetcher {
  /** The `prefetch` setting. */
  prefetch = true;
  /** The completion settings, as the provider reads them. */
  settings: ICompletionSettings = { ...DEFAULT_SETTINGS };
  /** The provider's entry in the inline completer's settings. */
  providerEnabled = true;

  private _debouncer = new Debouncer(PREFETCH_DEBOUNCE_MS, () => {
    void this._fire(0);
  });
  /** Bumped by every change: older work in progress then stops. */
  private _generation = 0;
  private _inFlight: AbortController | null = null;
  /** When our own prefetch in flight was last stopped for a newer one. */
  private _supersededAt = -Infinity;
  private _waitingKernel: ISessionContext | null = null;
  private _power: PowerSignals;

  constructor(
    private _current: () => Widget | null,
    private _isFileEditor: (widget: Widget) => boolean
  ) {
    this._power = new PowerSignals({
      // getBattery and connection are not in every browser (nor in TS's DOM types).
      navigator:
        typeof navigator === 'undefined'
          ? undefined
          : (navigator as IPowerSources['navigator']),
      matchMedia:
        typeof window === 'undefined' || !window.matchMedia
          ? undefined
          : query => window.matchMedia(query)
    });
  }

  /**
   * The current document or its active cell changed: what was being
   * prefetched is stale; prefetch for the new place once things are quiet.
   */
  schedule(): void {
    this._generation++;
    this._abort();
    this._debouncer.schedule();
  }

  private _abort(): void {
    if (this._inFlight) {
      this._inFlight.abort();
      this._inFlight = null;
      this._supersededAt = Date.now();
    }
  }

  /** The active cell of the current notebook, or the current file editor. */
  private _target(): IPrefetchTarget | null {
    const widget = this._current();
    if (!widget) {
      return null;
    }
    if (widget instanceof NotebookPanel) {
      const cell = widget.content.activeCell;
      if (!cell) {
        return null;
      }
      const text = cell.model.sharedModel.getSource();
      return {
        widget,
        request: {
          text,
          offset: cursorOffset(cell.editor, text),
          mimeType: cell.model.mimeType
        },
        cellType: cell.model.type
      };
    }
    if (this._isFileEditor(widget)) {
      const editor = (widget as any).content?.editor as
        CodeEditor.IEditor | undefined;
      if (!editor) {
        return null;
      }
      const text = editor.model.sharedModel.getSource();
      return {
        widget,
        request: {
          text,
          offset: cursorOffset(editor, text),
          mimeType: editor.model.mimeType
        },
        cellType: 'code'
      };
    }
    return null;
  }

  /**
   * Wait for the kernel to finish what it does (starting, running a cell):
   * the live namespace read before would not be the one the first keystroke
   * sends. True when waiting (the prefetch is then scheduled again).
   */
  private _waitForKernel(widget: Widget): boolean {
    this._stopWaitingForKernel();
    if (!this.settings.liveContext) {
      return false;
    }
    const session = sessionContextOf(widget);
    if (!session || session.isDisposed) {
      return false;
    }
    const kernel = session.session?.kernel ?? null;
    if (
      kernelAtRest({
        sessionReady: session.isReady,
        status: kernel ? kernel.status : null
      })
    ) {
      return false;
    }
    this._waitingKernel = session;
    session.statusChanged.connect(this._onKernelStatus, this);
    if (!session.isReady) {
      const generation = this._generation;
      void session.ready.then(
        () => {
          if (generation === this._generation) {
            this.schedule();
          }
        },
        () => undefined
      );
    }
    return true;
  }

  private _onKernelStatus(_: ISessionContext, status: string): void {
    if (status === 'idle' || status === 'dead') {
      this._stopWaitingForKernel();
      this.schedule();
    }
  }

  private _stopWaitingForKernel(): void {
    if (this._waitingKernel) {
      this._waitingKernel.statusChanged.disconnect(this._onKernelStatus, this);
      this._waitingKernel = null;
    }
  }

  private async _fire(attempt: number): Promise<void> {
    const generation = this._generation;
    const stale = () => generation !== this._generation;
    try {
      const target = this._target();
      if (!target) {
        return;
      }
      const reason = skipReason({
        prefetch: this.prefetch,
        enabled: this.settings.enabled,
        providerEnabled: this.providerEnabled,
        cellType: target.cellType
      });
      if (reason) {
        debug(`skipped: ${reason}`);
        return;
      }
      const { widget } = target;
      if (widget instanceof NotebookPanel && !widget.context.isReady) {
        void widget.context.ready.then(() => {
          if (!stale()) {
            this.schedule();
          }
        });
        return;
      }
      if (savingPower(await this._power.read())) {
        debug('skipped: the device saves battery or data');
        return;
      }
      if (stale() || this._waitForKernel(widget)) {
        return;
      }
      const settings = this.settings;
      // The same snapshot, namespace and body as the provider's.
      const snapshot = snapshotOf(target.request, widget);
      const namespace = snapshotNamespace(
        widget,
        snapshot,
        settings.liveContext
      );
      if (namespace) {
        snapshot.namespace = await namespace;
        if (stale()) {
          return;
        }
      }
      const key = PromptMemory.key(snapshot);
      const fingerprint = promptFingerprint(snapshot);
      if (lastPrompts.isLatest(key, fingerprint)) {
        debug('skipped: this prompt was completed or prefetched last');
        return;
      }
      const superseded = Date.now() - this._supersededAt < SUPERSEDE_SETTLE_MS;
      const statusReason = statusSkipReason(await fetchStatus(), superseded);
      if (stale()) {
        return;
      }
      if (statusReason) {
        debug(`skipped: ${statusReason}`);
        return;
      }
      const body = buildCompleteRequest(snapshot, settings, {
        candidates: 1,
        requestId: prefetchRequestId(snapshot.path || widget.id)
      });
      this._abort();
      const controller = new AbortController();
      this._inFlight = controller;
      lastPrompts.rememberFingerprint(key, fingerprint);
      let reply: IPrefetchReply;
      try {
        reply = await requestAPI<IPrefetchReply>('prefetch', {
          method: 'POST',
          body: JSON.stringify(body),
          signal: controller.signal
        });
      } catch (reason) {
        lastPrompts.forget(key, fingerprint);
        debug(controller.signal.aborted ? 'superseded' : 'failed', reason);
        return;
      } finally {
        if (this._inFlight === controller) {
          this._inFlight = null;
        }
      }
      if (reply.prefetched) {
        debug('done', reply.timings);
        return;
      }
      lastPrompts.forget(key, fingerprint);
      debug('not run: the model was busy');
      // Our older prefetch may have held the model for one more layer.
      if (superseded && attempt === 0 && !stale()) {
        setTimeout(() => {
          if (!stale()) {
            void this._fire(attempt + 1);
          }
        }, RETRY_MS);
      }
    } catch (reason) {
      debug('failed', reason);
    }
  }
}

/**
 * Prefetches for the current notebook's active cell (and the current file
 * editor), following the user's settings.
 */
export const prefetchPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:prefetch',
  description:
    'Warms the model’s prompt cache for the active cell before the first keystroke.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, IEditorTracker, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    editors: IEditorTracker | null,
    labShell: ILabShell | null
  ) => {
    const prefetcher = new Prefetcher(
      () => app.shell.currentWidget ?? notebooks.currentWidget,
      widget => !!editors && editors.has(widget)
    );
    const schedule = () => prefetcher.schedule();
    notebooks.currentChanged.connect(schedule);
    notebooks.activeCellChanged.connect(schedule);
    editors?.currentChanged.connect(schedule);
    labShell?.currentChanged.connect(schedule);

    watchSettings(settingRegistry, composite => {
      prefetcher.settings = readSettings(composite);
      prefetcher.prefetch = composite.prefetch !== false;
    });
    settingRegistry
      ?.load(INLINE_COMPLETER_PLUGIN)
      .then(settings => {
        const update = () => {
          prefetcher.providerEnabled = providerEnabledIn(
            settings.composite as Record<string, any>,
            PROVIDER_ID
          );
        };
        update();
        settings.changed.connect(update);
      })
      .catch(reason => debug('no inline completer settings', reason));
  }
};
