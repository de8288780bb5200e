/**
 * The latest failed request, shared by the completion provider (which reports
 * it) and the status item (which shows it). No JupyterLab imports: jest tests it.
 */
import { IRequestFailure, requestFailure } from './errors';

/** A request that failed on the server or could not reach it. */
export interface IRequestError extends IRequestFailure {
  /** What was asked: 'completion', 'explanation'... */
  kind: string;
}

/** Holds the latest error of each kind of request and tells listeners. */
export class RequestErrors {
  private _errors = new Map<string, IRequestError>();
  private _listeners = new Set<() => void>();

  /** The most recent error still standing, if any. */
  get latest(): IRequestError | null {
    const all = [...this._errors.values()];
    return all.length ? all[all.length - 1] : null;
  }

  /** A request of `kind` failed with `reason` (an error from the API client). */
  report(kind: string, reason: unknown): void {
    this._errors.delete(kind); // re-inserted last: the latest
    this._errors.set(kind, { kind, ...requestFailure(reason) });
    this._notify();
  }

  /** A request of `kind` succeeded: its earlier error no longer stands. */
  clear(kind: string): void {
    if (this._errors.delete(kind)) {
      this._notify();
    }
  }

  /** Call `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  private _notify(): void {
    for (const listener of this._listeners) {
      listener();
    }
  }
}

/** The one instance the plugins share. */
export const requestErrors = new RequestErrors();

/** One line for a tooltip or a dialog row. */
export function describeRequestError(error: IRequestError): string {
  const where = error.status === null ? 'unreachable' : `HTTP ${error.status}`;
  return `Last ${error.kind} failed (${where}): ${error.message}`;
}
