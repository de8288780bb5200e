/**
 * The pure rules of prefetching (src/prefetch.ts): when to warm the server's
 * prompt cache, the request id, the fingerprint of a prompt, the battery and
 * data-saving signals, and the debounce. No JupyterLab imports: jest tests
 * them directly.
 */
import type { IEditorSnapshot } from './request';
import type { IStatus } from './types';
import { MAX_REQUEST_ID_CHARS } from './wire.generated';

/** Quiet time after the last cell or document change before a prefetch. */
export const PREFETCH_DEBOUNCE_MS = 400;

/**
 * After our own prefetch was stopped for a newer one, the server may hold its
 * generation slot for one more layer: within this time a "busy" answer is
 * probably that, so the newer prefetch is sent anyway and retried once.
 */
export const SUPERSEDE_SETTLE_MS = 2000;

/** The wait before that one retry. */
export const RETRY_MS = 300;

/**
 * The waits before each retry of a prefetch that the model turned away
 * because it was busy with other work (a fix's prefetch when a cell fails,
 * a request): then the cell is warmed once the model is free, not left cold.
 */
export const BUSY_RETRY_MS = [1000, 2000, 4000];

/** What `statusSkipReason` says of a model that is working. */
export const MODEL_BUSY = 'the model is busy';

/** Below this battery level (0..1), and not charging, nothing is prefetched. */
export const LOW_BATTERY_LEVEL = 0.2;

/** 32-bit FNV-1a of `text`, as 8 hex digits. */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/**
 * The fixed request id of a document's prefetches, so that a newer one
 * supersedes the older on the server: `prefetch:<path>`, or for a path too
 * long for a request id, its hash and its end.
 */
export function prefetchRequestId(path: string): string {
  const id = `prefetch:${path}`;
  if (id.length <= MAX_REQUEST_ID_CHARS) {
    return id;
  }
  const head = `prefetch:${fnv1a(path)}:`;
  return head + path.slice(-(MAX_REQUEST_ID_CHARS - head.length));
}

/**
 * A cheap fingerprint of the prompt that a completion in `snapshot` builds:
 * the document, the active cell's index and text, how many other cells there
 * are and their total length, and the live namespace. (The cursor is left
 * out: what costs is the context before the cell, which it does not change.)
 */
export function promptFingerprint(snapshot: IEditorSnapshot): string {
  const cells = snapshot.cells ?? [];
  const active = snapshot.activeCell ?? -1;
  let others = 0;
  cells.forEach((cell, i) => {
    if (i !== active) {
      others += cell.source.length;
    }
  });
  return [
    snapshot.path ?? '',
    active,
    cells.length,
    others,
    snapshot.text.length,
    fnv1a(snapshot.text),
    fnv1a(snapshot.namespace ?? '')
  ].join('\u0000');
}

/**
 * The fingerprint of the latest prompt each document sent, by a completion
 * or a prefetch (the server keeps one prompt cache entry per document).
 */
export class PromptMemory {
  private _last = new Map<string, string>();

  constructor(readonly capacity = 64) {}

  /** The document of a snapshot, as the memory keys it. */
  static key(snapshot: IEditorSnapshot): string {
    return snapshot.path ?? '';
  }

  /** `snapshot`'s prompt was sent (it is, or will soon be, cached). */
  remember(snapshot: IEditorSnapshot): void {
    this.rememberFingerprint(
      PromptMemory.key(snapshot),
      promptFingerprint(snapshot)
    );
  }

  rememberFingerprint(key: string, fingerprint: string): void {
    this._last.delete(key);
    this._last.set(key, fingerprint);
    while (this._last.size > this.capacity) {
      const oldest = this._last.keys().next().value as string;
      this._last.delete(oldest);
    }
  }

  /** Is `fingerprint` the latest prompt sent for `key`? */
  isLatest(key: string, fingerprint: string): boolean {
    return this._last.get(key) === fingerprint;
  }

  /** The prompt `fingerprint` was not computed after all: forget it, if still latest. */
  forget(key: string, fingerprint: string): void {
    if (this.isLatest(key, fingerprint)) {
      this._last.delete(key);
    }
  }
}

/** What completions and prefetches sent last, shared by both. */
export const lastPrompts = new PromptMemory();

/** The device's battery, as `navigator.getBattery()` reports it. */
export interface IBatteryLike {
  charging: boolean;
  /** 0..1 */
  level: number;
}

/** The signals that the device wants to save power or data. */
export interface IPowerSignals {
  battery?: IBatteryLike | null;
  /** `navigator.connection.saveData` (the Save-Data preference). */
  saveData?: boolean;
  /** The `prefers-reduced-data: reduce` media query matches. */
  reducedData?: boolean;
}

/** Should background work be left out to save battery or data? */
export function savingPower(signals: IPowerSignals): boolean {
  const battery = signals.battery;
  if (battery && !battery.charging && battery.level < LOW_BATTERY_LEVEL) {
    return true;
  }
  return !!signals.saveData || !!signals.reducedData;
}

/** What `readPowerSignals` reads from the browser (injectable for tests). */
export interface IPowerSources {
  navigator?: {
    getBattery?: () => Promise<IBatteryLike>;
    connection?: { saveData?: boolean };
  };
  matchMedia?: (query: string) => { matches: boolean };
}

/**
 * Reads the power and data signals that the browser offers; any missing or
 * failing one counts as "not saving". `getBattery()` returns a live object,
 * so its promise is kept and reused.
 */
export class PowerSignals {
  private _battery: Promise<IBatteryLike | null> | null = null;

  constructor(private _sources: IPowerSources) {}

  async read(): Promise<IPowerSignals> {
    const nav = this._sources.navigator;
    if (!this._battery) {
      let battery: Promise<IBatteryLike | null> = Promise.resolve(null);
      if (nav && typeof nav.getBattery === 'function') {
        try {
          battery = nav.getBattery().catch(() => null);
        } catch {
          battery = Promise.resolve(null);
        }
      }
      this._battery = battery;
    }
    let reducedData = false;
    try {
      reducedData = !!this._sources.matchMedia?.(
        '(prefers-reduced-data: reduce)'
      ).matches;
    } catch {
      reducedData = false;
    }
    return {
      battery: await this._battery,
      saveData: nav?.connection?.saveData === true,
      reducedData
    };
  }
}

/** The power and data signals of this browser. */
export function browserPowerSignals(): PowerSignals {
  return new PowerSignals({
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

/** The user's choices and the place a prefetch would be made for. */
export interface IPrefetchConditions {
  /** The `prefetch` setting. */
  prefetch: boolean;
  /** The `enabled` setting (inline completions). */
  enabled: boolean;
  /** The provider's entry in the inline completer's settings. */
  providerEnabled: boolean;
  /** The active cell's type; `code` for a file editor. */
  cellType: string;
}

/** Why no prefetch is made for these conditions, or null to go on. */
export function skipReason(conditions: IPrefetchConditions): string | null {
  if (!conditions.prefetch) {
    return 'prefetch is off in the settings';
  }
  if (!conditions.enabled || !conditions.providerEnabled) {
    return 'inline completions are off';
  }
  if (conditions.cellType !== 'code') {
    return `the active cell is a ${conditions.cellType} cell`;
  }
  return null;
}

/** Is the provider enabled in the inline completer's settings (`providers`)? */
export function providerEnabledIn(
  composite: Record<string, any> | null | undefined,
  providerId: string
): boolean {
  const entry = composite?.providers?.[providerId];
  return !(entry && entry.enabled === false);
}

/**
 * Why the server's status rules a prefetch out, or null. `superseded`: our
 * own prefetch was stopped moments ago and may still count as active.
 */
export function statusSkipReason(
  status: Pick<IStatus, 'state' | 'requests'> | null,
  superseded = false
): string | null {
  if (!status || status.state !== 'ready') {
    return `the model is ${status ? status.state : 'unreachable'}`;
  }
  const requests = status.requests;
  if (requests && requests.active + requests.queued > 0 && !superseded) {
    return MODEL_BUSY;
  }
  return null;
}

/**
 * How long to wait before retry number `attempt` (0 for the first) of a
 * prefetch that the busy model turned away, or null to give up. Soon after
 * our own superseded prefetch (it may hold the model one more layer), once;
 * else `BUSY_RETRY_MS`.
 */
export function busyRetryDelay(
  attempt: number,
  superseded: boolean
): number | null {
  if (superseded && attempt === 0) {
    return RETRY_MS;
  }
  return attempt < BUSY_RETRY_MS.length ? BUSY_RETRY_MS[attempt] : null;
}

/**
 * Runs `action` once `delayMs` have passed since the latest `schedule()`;
 * every `schedule()` restarts the wait.
 */
export class Debouncer {
  private _timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly delayMs: number,
    private _action: () => void
  ) {}

  get pending(): boolean {
    return this._timer !== null;
  }

  schedule(): void {
    this.cancel();
    this._timer = setTimeout(() => {
      this._timer = null;
      this._action();
    }, this.delayMs);
  }

  cancel(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }
}
