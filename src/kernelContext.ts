/**
 * Live kernel context: a short description of the variables that the
 * notebook's (or console's) kernel knows, for the completion prompt.
 *
 * The description comes from `jupyter_codegen.kernel.live.live_context`,
 * evaluated inside the kernel as a user expression of a silent execute that
 * stores no history. It is asked for only when the kernel is idle (so it
 * never queues behind the user's work), only for Python kernels, and it is
 * cached per kernel and execution count: the namespace changes only when a
 * cell runs. Anything unexpected (no kernel, busy, the package missing in the
 * kernel, an error, no reply within the timeout) gives '' and no error.
 *
 * Type-only JupyterLab imports: jest tests this module with a fake kernel.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelMessage } from '@jupyterlab/services';

/** How long a completion waits for the kernel's description. */
export const LIVE_TIMEOUT_MS = 500;

/** At most this much source is sent to the kernel to choose the names. */
export const MAX_LIVE_SOURCE_CHARS = 20_000;

// At most this much description is sent to the server (its own bound, generated).
import { MAX_NAMESPACE_CHARS } from './wire.generated';
export { MAX_NAMESPACE_CHARS };

/** The user expression's key in the execute request. */
const EXPRESSION_KEY = 'codegen';

/** The Python expression that describes the kernel's names for `source`. */
export function liveExpression(source: string): string {
  // A JSON string literal is a valid Python string literal. `__import__` is
  // the one name looked up in the user's namespace: a notebook that rebinds it
  // (an import hook) has it called here as for any import statement it runs.
  return (
    "__import__('jupyter_codegen.kernel.live', fromlist=['live_context'])" +
    `.live_context(${JSON.stringify(source)})`
  );
}

/** What `live_context` returns: `{text, names, execution_count}`. */
interface ILiveResult {
  text: string;
  execution_count?: unknown;
}

/** `value` (a parsed object, or JSON text) as a live result, or null. */
function asLiveResult(value: unknown): ILiveResult | null {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return null;
  }
  const result = parsed as { text?: unknown };
  return typeof result.text === 'string' ? (parsed as ILiveResult) : null;
}

/**
 * The `{text, names, execution_count}` of a user expression's reply, or null.
 *
 * The kernel formats the expression's value with its display formatter:
 * `application/json` (from the result's mime bundle) is read first, since no
 * `text/plain` formatter changes it (rich's colours and wraps text/plain);
 * `text/plain` is the fallback, and only when it is that same JSON (a kernel
 * with an older package, or one whose formatter drops bundles).
 */
export function parseLiveReply(
  reply: KernelMessage.IExecuteReplyMsg['content'] | undefined
): { text: string; executionCount: number | null } | null {
  if (!reply || reply.status !== 'ok') {
    return null;
  }
  const expression = (reply.user_expressions ?? {})[EXPRESSION_KEY] as
    { status?: string; data?: Record<string, unknown> } | undefined;
  if (!expression || expression.status !== 'ok') {
    return null;
  }
  const data = expression.data ?? {};
  const parsed =
    asLiveResult(data['application/json']) ?? asLiveResult(data['text/plain']);
  if (!parsed) {
    return null;
  }
  // The execute reply's count numbers cells as `execute_input` does (the
  // last cell run); IPython's own `execution_count` in the JSON is the next
  // prompt's number, one more. The cache follows the former.
  const count =
    typeof reply.execution_count === 'number'
      ? reply.execution_count
      : typeof parsed.execution_count === 'number'
        ? parsed.execution_count - 1
        : null;
  return {
    text: parsed.text.slice(0, MAX_NAMESPACE_CHARS),
    executionCount: count
  };
}

/** What is known about one kernel connection. */
interface IKernelState {
  /** The execution count of the latest cell run, when seen. */
  count: number | null;
  /** Descriptions by execution count. */
  cache: Map<number, string>;
  /** The lookup in flight, by execution count (or -1 when unknown). */
  inflight: Map<number, Promise<string>>;
  /** Lookups sent to the kernel (for tests and diagnostics). */
  lookups: number;
}

const states = new WeakMap<Kernel.IKernelConnection, IKernelState>();

/** The state of `kernel`, following its executions from now on. */
function stateOf(kernel: Kernel.IKernelConnection): IKernelState {
  let state = states.get(kernel);
  if (state) {
    return state;
  }
  const fresh: IKernelState = {
    count: null,
    cache: new Map(),
    inflight: new Map(),
    lookups: 0
  };
  state = fresh;
  states.set(kernel, fresh);
  // A cell starts running (from this or any other client): its count.
  kernel.iopubMessage.connect((_, msg) => {
    if (msg.header.msg_type === 'execute_input') {
      const count = (msg.content as { execution_count?: unknown })
        .execution_count;
      if (typeof count === 'number') {
        fresh.count = count;
      }
    }
  });
  // A restart empties the namespace and counts from 1 again.
  kernel.statusChanged.connect((_, status) => {
    if (status === 'restarting' || status === 'autorestarting') {
      fresh.count = null;
      fresh.cache.clear();
      fresh.inflight.clear();
    }
  });
  return fresh;
}

/** How many lookups have been sent to `kernel` by this module. */
export function lookupCount(kernel: Kernel.IKernelConnection): number {
  return states.get(kernel)?.lookups ?? 0;
}

function isPython(language: string | undefined): boolean {
  return /^(i?python)\d*$/i.test((language ?? '').trim());
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T) {
  return new Promise<T>(resolve => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      value => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      }
    );
  });
}

/** Ask the kernel; resolves with the description ('' on any failure). */
function lookup(
  kernel: Kernel.IKernelConnection,
  state: IKernelState,
  source: string
): Promise<string> {
  state.lookups++;
  const future = kernel.requestExecute(
    {
      code: '',
      silent: true,
      store_history: false,
      allow_stdin: false,
      stop_on_error: false,
      user_expressions: { [EXPRESSION_KEY]: liveExpression(source) }
    },
    true
  );
  return future.done.then(
    reply => {
      const parsed = parseLiveReply(reply?.content);
      if (!parsed) {
        return '';
      }
      if (parsed.executionCount !== null) {
        if (state.count === null) {
          state.count = parsed.executionCount;
        }
        // Only the latest count matters: older descriptions are stale.
        state.cache.clear();
        state.cache.set(parsed.executionCount, parsed.text);
      }
      return parsed.text;
    },
    () => ''
  );
}

/**
 * The live description of the kernel's variables for `source` (the active
 * cell's code first, then the other cells' code), or '' when it is off, when
 * there is no idle Python kernel, or when the kernel does not answer within
 * `timeoutMs`.
 */
export async function liveNamespace(
  session: ISessionContext | null | undefined,
  source: string,
  enabled: boolean,
  timeoutMs: number = LIVE_TIMEOUT_MS
): Promise<string> {
  if (!enabled || !session || session.isDisposed) {
    return '';
  }
  const kernel = session.session?.kernel;
  if (
    !kernel ||
    kernel.isDisposed ||
    kernel.status !== 'idle' ||
    kernel.connectionStatus !== 'connected'
  ) {
    return '';
  }
  const state = stateOf(kernel);
  const key = state.count ?? -1;
  const cached = state.cache.get(key);
  if (cached !== undefined) {
    return cached;
  }
  const deadline = Date.now() + timeoutMs;
  // The kernel's language: its info reply (known once it connected).
  const info = await withTimeout(
    kernel.info.then(reply => reply as KernelMessage.IInfoReply | null),
    timeoutMs,
    null
  );
  if (!info || !isPython(info.language_info?.name)) {
    return '';
  }
  // The kernel may have started running a cell meanwhile.
  if (kernel.status !== 'idle' || (state.count ?? -1) !== key) {
    return '';
  }
  let pending = state.inflight.get(key);
  if (!pending) {
    const clipped = source.slice(0, MAX_LIVE_SOURCE_CHARS);
    const started = lookup(kernel, state, clipped);
    pending = started;
    state.inflight.set(key, started);
    void started.then(() => {
      if (state.inflight.get(key) === started) {
        state.inflight.delete(key);
      }
    });
  }
  return withTimeout(pending, Math.max(0, deadline - Date.now()), '');
}

/**
 * The source the kernel chooses names from: the active cell's code first,
 * then the other code cells, nearest first, within `MAX_LIVE_SOURCE_CHARS`.
 * `cells` holds every cell, the active one (at `activeIndex`) included.
 */
export function liveSource(
  activeText: string,
  cells: { cell_type: string; source: string }[],
  activeIndex: number
): string {
  const parts = [activeText.slice(0, MAX_LIVE_SOURCE_CHARS)];
  let used = parts[0].length;
  const order = cells
    .map((cell, index) => ({ cell, index }))
    .filter(
      ({ cell, index }) =>
        index !== activeIndex && cell.cell_type === 'code' && cell.source.trim()
    )
    .sort(
      (a, b) =>
        Math.abs(a.index - activeIndex) - Math.abs(b.index - activeIndex) ||
        a.index - b.index
    );
  for (const { cell } of order) {
    if (used + cell.source.length + 1 > MAX_LIVE_SOURCE_CHARS) {
      continue;
    }
    parts.push(cell.source);
    used += cell.source.length + 1;
  }
  return parts.join('\n');
}
