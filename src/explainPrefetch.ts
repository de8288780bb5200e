/**
 * The explanation prefetch's rules (pure): which explanation the prefetcher
 * sends to `POST /jupyter-codegen/prefetch/explain` once a notebook cell's
 * completion prompt is computed, and which it has already sent. Its prompt is
 * a chat, which shares nothing with the completion's, so Explain Code on a
 * cell of a real notebook waits about 6 s on two cores for it without this.
 */
import { fnv1a } from './prefetchRules';
import type { IExplainRequest } from './wire.generated';

/**
 * Longer code is not prefetched: an explanation may take up to four prompt
 * budgets of code, seconds of background work for something rarely asked.
 */
export const EXPLAIN_PREFETCH_MAX_CHARS = 4000;

/** The bodies remembered (a few cells visited back and forth). */
export const EXPLAIN_MEMORY_SIZE = 16;

/**
 * The body to prefetch, or null: only for a notebook cell (`inNotebook`)
 * whose code is at most `EXPLAIN_PREFETCH_MAX_CHARS`, while its kernel is at
 * rest (`kernelAtRest`: a cell that runs or a kernel that starts gets the
 * CPU first).
 */
export function explainPrefetchBody(
  request: IExplainRequest | null,
  requestId: string,
  where: { inNotebook: boolean; kernelAtRest: boolean }
): string | null {
  if (
    !request ||
    !where.inNotebook ||
    !where.kernelAtRest ||
    request.code.length > EXPLAIN_PREFETCH_MAX_CHARS
  ) {
    return null;
  }
  return JSON.stringify({ ...request, request_id: requestId });
}

/**
 * The explanation bodies prefetched lately, or refused for good (a 4xx:
 * sending them again gets the same answer), newest last; a body is sent
 * again only once it has dropped out.
 */
export class ExplainMemory {
  private _keys: string[] = [];

  constructor(private _size = EXPLAIN_MEMORY_SIZE) {}

  has(body: string): boolean {
    return this._keys.includes(fnv1a(body));
  }

  add(body: string): void {
    const key = fnv1a(body);
    this._keys = this._keys.filter(k => k !== key);
    this._keys.push(key);
    if (this._keys.length > this._size) {
      this._keys.shift();
    }
  }

  /** It was not computed after all (stopped, busy, the server failed). */
  forget(body: string): void {
    const key = fnv1a(body);
    this._keys = this._keys.filter(k => k !== key);
  }
}

/** Is a failed prefetch's error one that sending the same body again repeats? */
export function refusedForGood(status: number | null | undefined): boolean {
  return typeof status === 'number' && status >= 400 && status < 500;
}
