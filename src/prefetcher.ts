/**
 * The prefetcher: on each change of the current document or its active cell
 * it drops the prefetch in flight, waits for quiet, then sends the request a
 * completion at the cursor would send to `POST /jupyter-codegen/prefetch`,
 * unless a rule says not to (prefetchRules.ts). Then, for a notebook cell,
 * the explanation Explain Code would ask for goes to
 * `POST /jupyter-codegen/prefetch/explain` (explainPrefetch.ts), so that its
 * first words, and a first question's, wait for no prompt. It waits for a
 * kernel that runs a cell, goes ahead while one starts and looks again once
 * it is idle (`kernelTiming`), and tries again later when the model was busy
 * (`busyRetryDelay`): soon when its own older prefetch held it, else after 1,
 * 2 and 4 s, so that a fix's prefetch after a failing cell does not leave the
 * next cell cold.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { CodegenAPIError, fetchStatus, requestAPI } from './api';
import {
  ExplainMemory,
  explainPrefetchBody,
  refusedForGood
} from './explainPrefetch';
import { sessionTiming } from './kernelTiming';
import { snapshotOf } from './completion';
import { sessionContextOf, snapshotNamespace } from './notebook';
import {
  browserPowerSignals,
  busyRetryDelay,
  Debouncer,
  lastPrompts,
  MODEL_BUSY,
  PREFETCH_DEBOUNCE_MS,
  prefetchRequestId,
  PromptMemory,
  promptFingerprint,
  savingPower,
  skipReason,
  statusSkipReason,
  SUPERSEDE_SETTLE_MS
} from './prefetchRules';
import { prefetchTarget } from './prefetchTarget';
import { buildCompleteRequest, DEFAULT_SETTINGS } from './request';
import type { ICompletionSettings } from './request';
import type { IExplainRequest, IPrefetchReply } from './wire.generated';

/** A debug log line (a failed or skipped prefetch is otherwise silent). */
export function debug(message: string, detail?: unknown): void {
  if (detail === undefined) {
    console.debug(`jupyter-codegen: prefetch: ${message}`);
  } else {
    console.debug(`jupyter-codegen: prefetch: ${message}`, detail);
  }
}

/** Prefetches for the place `_current` names, as its settings allow. */
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
  private _power = browserPowerSignals();

  /** The explanations prefetched lately (`explainPrefetch.ts`). */
  private _explained = new ExplainMemory();

  /**
   * `_explainRequest`: what Explain Code would send for `widget` now (null:
   * nothing to explain there, and no explanation is prefetched).
   */
  constructor(
    private _current: () => Widget | null,
    private _isFileEditor: (widget: Widget) => boolean,
    private _explainRequest: (widget: Widget) => IExplainRequest | null = () =>
      null
  ) {}

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

  /**
   * Watch the kernel when it is not at rest (`kernelTiming`): once it is
   * idle, the place is prefetched again, which sends nothing if the prompt
   * (with the namespace it then has) is the one already prefetched, and the
   * explanation if it was left for then. True when the completion's prefetch
   * must wait for that: the kernel runs a cell, and live variables are on
   * (without them its prompt does not depend on the kernel).
   */
  private _waitForKernel(widget: Widget): boolean {
    this._stopWaitingForKernel();
    const session = sessionContextOf(widget);
    if (!session || session.isDisposed) {
      return false;
    }
    const timing = sessionTiming(session);
    if (timing === 'now') {
      return false;
    }
    this._waitingKernel = session;
    session.statusChanged.connect(this._onKernelStatus, this);
    if (!session.isReady) {
      const generation = this._generation;
      void session.ready.then(
        () => {
          if (generation === this._generation) {
            this._debouncer.schedule();
          }
        },
        () => undefined
      );
    }
    return this.settings.liveContext && timing === 'when-idle';
  }

  /**
   * The kernel came to rest: look at the same place again. Unlike
   * `schedule`, this leaves the prefetch in flight alone: it goes on unless
   * the prompt has changed.
   */
  private _onKernelStatus(_: ISessionContext, status: string): void {
    if (status === 'idle' || status === 'dead') {
      this._stopWaitingForKernel();
      this._debouncer.schedule();
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
      const target = prefetchTarget(this._current(), this._isFileEditor);
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
      const requestId = prefetchRequestId(snapshot.path || widget.id);
      if (lastPrompts.isLatest(key, fingerprint)) {
        debug('skipped: this prompt was completed or prefetched last');
        await this._prefetchExplain(widget, requestId, stale);
        return;
      }
      const superseded = Date.now() - this._supersededAt < SUPERSEDE_SETTLE_MS;
      const statusReason = statusSkipReason(await fetchStatus(), superseded);
      if (stale()) {
        return;
      }
      if (statusReason) {
        debug(`skipped: ${statusReason}`);
        if (statusReason === MODEL_BUSY) {
          this._retry(attempt, false, stale);
        }
        return;
      }
      const body = buildCompleteRequest(snapshot, settings, {
        candidates: 1,
        requestId
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
        await this._prefetchExplain(widget, requestId, stale);
        return;
      }
      lastPrompts.forget(key, fingerprint);
      debug('not run: the model was busy');
      this._retry(attempt, superseded, stale);
    } catch (reason) {
      debug('failed', reason);
    }
  }

  /**
   * After the completion's prompt, the explanation's, under the same request
   * id (a newer prefetch for the document stops it), unless one is in flight
   * (`explainPrefetchBody` says which). Not retried when the model is busy;
   * not sent again while `_explained` remembers it.
   */
  private async _prefetchExplain(
    widget: Widget,
    requestId: string,
    stale: () => boolean
  ): Promise<void> {
    const session = sessionContextOf(widget);
    const body = explainPrefetchBody(this._explainRequest(widget), requestId, {
      inNotebook: widget instanceof NotebookPanel,
      kernelAtRest: !session || sessionTiming(session) === 'now'
    });
    if (!body || this._explained.has(body) || this._inFlight || stale()) {
      return;
    }
    const controller = new AbortController();
    this._inFlight = controller;
    this._explained.add(body);
    try {
      const reply = await requestAPI<IPrefetchReply>('prefetch/explain', {
        method: 'POST',
        body,
        signal: controller.signal
      });
      if (!reply.prefetched) {
        this._explained.forget(body);
      }
      debug(
        reply.prefetched ? 'explanation done' : 'explanation not run',
        reply.timings
      );
    } catch (reason) {
      const status = reason instanceof CodegenAPIError ? reason.status : null;
      if (controller.signal.aborted || !refusedForGood(status)) {
        this._explained.forget(body);
      }
      debug('explanation not prefetched', reason);
    } finally {
      if (this._inFlight === controller) {
        this._inFlight = null;
      }
    }
  }

  /** Try again later, while the place is the same (`busyRetryDelay`). */
  private _retry(
    attempt: number,
    superseded: boolean,
    stale: () => boolean
  ): void {
    const delay = busyRetryDelay(attempt, superseded);
    if (delay === null || stale()) {
      return;
    }
    setTimeout(() => {
      if (!stale()) {
        void this._fire(attempt + 1);
      }
    }, delay);
  }
}
