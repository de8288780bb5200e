/**
 * Edit prefetch: when the dialog that asks for an edit's instruction opens,
 * the request that the edit will send (the same cell, selection, notebook
 * context and live variables, built by the same code) goes without its
 * instruction to `POST /jupyter-codegen/prefetch/edit`. The instruction comes
 * last in the edit's prompt, so while the user types it the server computes
 * everything before it, and the edit's first words come without that wait.
 * On the server it is background work: it runs only on an idle model, and
 * any real request (the edit itself) stops it within one layer, keeping what
 * it computed.
 *
 * Nothing is sent when the `prefetch` setting is off, the device saves
 * battery or data, or the model is not ready. While the model is busy (a
 * completion's prefetch for the cell, say) it tries again after 1, 2 and 4 s
 * (`busyRetryDelay`), until the dialog closes. Closing it without an edit
 * stops the prefetch. A failed prefetch is silent (a debug log line).
 */
import { fetchStatus, requestAPI } from './api';
import { debug } from './prefetcher';
import {
  browserPowerSignals,
  busyRetryDelay,
  MODEL_BUSY,
  savingPower,
  statusSkipReason
} from './prefetchRules';
import type { IEditPrefetchRequest, IPrefetchReply } from './wire.generated';

/** The request id of a notebook's edit prefetch. */
export function editPrefetchRequestId(panel: { id: string }): string {
  return `codegen-prefetch-edit-${panel.id}`;
}

/** Builds the edit's request as it stands, without an instruction (null: none). */
export type EditBuilder = () => Promise<IEditPrefetchRequest | null>;

/** Prefetches the edit whose instruction is being asked for. */
export class EditPrefetcher {
  /** The `prefetch` setting. */
  prefetch = true;

  private _power = browserPowerSignals();

  /**
   * Prefetch the edit that `build` gives, as `requestId`. Returns what to
   * call when the dialog closes: with `edit` true (the edit is sent) nothing
   * more is sent, and a prefetch in flight is left to the edit, which stops
   * it on the server and reuses what it computed; with `edit` false the
   * prefetch is stopped.
   */
  start(requestId: string, build: EditBuilder): (edit: boolean) => void {
    if (!this.prefetch) {
      debug('edit skipped: the prefetch setting is off');
      return () => undefined;
    }
    const controller = new AbortController();
    const closed = { value: false };
    void this._run(requestId, build, controller.signal, closed);
    return edit => {
      closed.value = true;
      if (!edit) {
        controller.abort();
      }
    };
  }

  private async _run(
    requestId: string,
    build: EditBuilder,
    signal: AbortSignal,
    closed: { value: boolean }
  ): Promise<void> {
    try {
      if (savingPower(await this._power.read())) {
        debug('edit skipped: the device saves battery or data');
        return;
      }
      const body = await build();
      if (!body || closed.value) {
        return;
      }
      for (let attempt = 0; ; attempt++) {
        let reason = statusSkipReason(await fetchStatus());
        if (closed.value) {
          return;
        }
        if (!reason) {
          const reply = await requestAPI<IPrefetchReply>('prefetch/edit', {
            method: 'POST',
            body: JSON.stringify({ ...body, request_id: requestId }),
            signal
          });
          if (reply.prefetched || Object.keys(reply.timings).length > 0) {
            // Not prefetched but run: stopped by a request, or nowhere to keep it.
            debug(
              reply.prefetched ? 'edit done' : 'edit not kept',
              reply.timings
            );
            return;
          }
          reason = MODEL_BUSY; // turned away: something else started first
        }
        const delay =
          reason === MODEL_BUSY ? busyRetryDelay(attempt, false) : null;
        if (delay === null) {
          debug(`edit skipped: ${reason}`);
          return;
        }
        await new Promise(resolve => setTimeout(resolve, delay));
        if (closed.value) {
          return;
        }
      }
    } catch (reason) {
      if (signal.aborted) {
        debug('edit stopped: the dialog was closed');
      } else {
        debug('edit failed', reason);
      }
    }
  }
}
