/**
 * Fix prefetch: when a new error output appears in a notebook, the request
 * that its Fix button would send (the same body, from `prepareFix`) goes to
 * `POST /jupyter-codegen/prefetch/fix`, so that a click on Fix finds the
 * prompt computed and its first words come at once. On the server it is
 * background work: it runs only on an idle model, and any real request stops
 * it within one layer.
 *
 * One per notebook, for its latest error, after `PREFETCH_DEBOUNCE_MS` of
 * quiet: a newer error supersedes it (the older fetch is aborted). Errors
 * that a notebook already holds when it opens are not prefetched. Nothing is
 * sent when the `prefetch` setting is off, the device saves battery or data,
 * or the model is not ready. When the model is busy (another prefetch, a
 * request), it tries again after 1, 2 and 4 s (`busyRetryDelay`) while the
 * error is still the notebook's newest. A failed prefetch is silent (a debug
 * log line).
 */
import { CodeCell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

import { fetchStatus, requestAPI } from './api';
import { IPreparedFix } from './fixRequest';
import { IOutputLike, kernelError } from './fixText';
import { debug } from './prefetcher';
import {
  browserPowerSignals,
  busyRetryDelay,
  Debouncer,
  MODEL_BUSY,
  PREFETCH_DEBOUNCE_MS,
  savingPower,
  statusSkipReason
} from './prefetchRules';
import type { IKernelError, IPrefetchReply } from './wire.generated';

/** Builds the fix request for `error` of `cell`, as the Fix button does. */
export type FixPreparer = (
  panel: NotebookPanel,
  cell: CodeCell,
  error: IKernelError
) => Promise<IPreparedFix | null>;

/** The request id of a notebook's fix prefetch: a newer one supersedes it. */
export function fixPrefetchRequestId(panel: NotebookPanel): string {
  return `codegen-prefetch-fix-${panel.id}`;
}

/** What one notebook's fix prefetch is doing. */
interface IPanelState {
  debouncer: Debouncer;
  /** The error output to prefetch a fix for, once things are quiet. */
  target: { cell: CodeCell; output: number } | null;
  inFlight: AbortController | null;
}

/** Prefetches the fix of each notebook's newest error. */
export class FixPrefetcher {
  /** The `prefetch` setting. */
  prefetch = true;

  private _panels = new WeakMap<NotebookPanel, IPanelState>();
  private _power = browserPowerSignals();

  constructor(private _prepare: FixPreparer) {}

  /** A new error output, `output` of `cell`: prefetch its fix once quiet. */
  schedule(panel: NotebookPanel, cell: CodeCell, output: number): void {
    let state = this._panels.get(panel);
    if (!state) {
      const fresh: IPanelState = {
        debouncer: new Debouncer(PREFETCH_DEBOUNCE_MS, () => {
          void this._fire(panel, fresh);
        }),
        target: null,
        inFlight: null
      };
      state = fresh;
      this._panels.set(panel, state);
    }
    state.target = { cell, output };
    state.inFlight?.abort();
    state.debouncer.schedule();
  }

  private async _fire(
    panel: NotebookPanel,
    state: IPanelState,
    attempt = 0
  ): Promise<void> {
    const target = state.target;
    state.target = null;
    // A newer error (or a closed notebook) makes the work below stale.
    const stale = () => state.target !== null || panel.isDisposed;
    try {
      if (!target || panel.isDisposed || target.cell.isDisposed) {
        return;
      }
      if (!this.prefetch) {
        debug('fix skipped: the prefetch setting is off');
        return;
      }
      if (savingPower(await this._power.read())) {
        debug('fix skipped: the device saves battery or data');
        return;
      }
      const json = target.cell.model.outputs.get(target.output)?.toJSON() as
        IOutputLike | undefined;
      const error = kernelError(json);
      if (!error) {
        return;
      }
      const prepared = await this._prepare(panel, target.cell, error);
      if (!prepared || stale()) {
        return;
      }
      const reason = statusSkipReason(await fetchStatus());
      if (reason || stale()) {
        debug(`fix skipped: ${reason ?? 'a newer error'}`);
        if (reason === MODEL_BUSY) {
          this._retry(panel, state, target, attempt);
        }
        return;
      }
      const controller = new AbortController();
      state.inFlight = controller;
      try {
        const reply = await requestAPI<IPrefetchReply>('prefetch/fix', {
          method: 'POST',
          body: JSON.stringify({
            ...prepared.body.request,
            request_id: fixPrefetchRequestId(panel)
          }),
          signal: controller.signal
        });
        debug(
          reply.prefetched ? 'fix done' : 'fix not run: the model was busy',
          reply.timings
        );
        if (!reply.prefetched) {
          this._retry(panel, state, target, attempt);
        }
      } finally {
        if (state.inFlight === controller) {
          state.inFlight = null;
        }
      }
    } catch (reason) {
      debug('fix failed', reason);
    }
  }

  /** The same error again after `busyRetryDelay`, unless a newer one came. */
  private _retry(
    panel: NotebookPanel,
    state: IPanelState,
    target: NonNullable<IPanelState['target']>,
    attempt: number
  ): void {
    const delay = busyRetryDelay(attempt, false);
    if (delay === null) {
      return;
    }
    setTimeout(() => {
      if (state.target !== null || panel.isDisposed) {
        return; // a newer error is scheduled, or the notebook is gone
      }
      state.target = target;
      void this._fire(panel, state, attempt + 1);
    }, delay);
  }
}
