/**
 * How a failed request becomes what the user reads: the one place that maps
 * HTTP error replies, in-stream `error` events and network failures to a
 * status and a message. No imports: jest tests it directly.
 *
 * The server's JSON error body always has `message` (what went wrong, meant
 * for the user) and `reason` (the HTTP status phrase); its message is shown.
 */

/** Error raised when the server answers with a status other than 2xx, or
 * reports an error inside a stream. */
export class CodegenAPIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The HTTP status phrase of the server's error body, when it sent one. */
    readonly reason: string | null = null
  ) {
    super(message);
    this.name = 'CodegenAPIError';
  }
}

/** A failed request as the user sees it. */
export interface IRequestFailure {
  /** The HTTP status, or null when the server could not be reached. */
  status: number | null;
  message: string;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() ? value : null;
}

/**
 * The error of a non-2xx reply: the server's `message`, or else its
 * `reason`, or else the body as text, or else the status line.
 */
export function errorFromResponse(
  status: number,
  body: string,
  statusText = ''
): CodegenAPIError {
  let data: unknown = null;
  try {
    data = body ? JSON.parse(body) : null;
  } catch {
    // Not JSON (a proxy's page, say): the text itself is the message.
  }
  const fields = (data && typeof data === 'object' ? data : {}) as Record<
    string,
    unknown
  >;
  const reason = text(fields.reason);
  const message =
    text(fields.message) ??
    reason ??
    (data === null ? text(body) : null) ??
    `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  return new CodegenAPIError(status, message, reason);
}

/**
 * The error of an `event: error` in a stream. The headers (200) are gone by
 * then, so it counts as a server error (500) unless the event names a status.
 */
export function errorFromEvent(data: unknown): CodegenAPIError {
  const fields = (data && typeof data === 'object' ? data : {}) as Record<
    string,
    unknown
  >;
  const status = typeof fields.status === 'number' ? fields.status : 500;
  const message =
    text(fields.message) ??
    text(fields.reason) ??
    (typeof data === 'string' && data ? data : `HTTP ${status}`);
  return new CodegenAPIError(status, message, text(fields.reason));
}

/**
 * What any failure of a request means to the user: its HTTP status (null
 * when the server was not reached: a network error) and its message (the
 * server's own, for an error reply).
 */
export function requestFailure(reason: unknown): IRequestFailure {
  const status = (reason as { status?: unknown } | null)?.status;
  const message = (reason as { message?: unknown } | null)?.message;
  return {
    status: typeof status === 'number' ? status : null,
    message: String(message ?? reason)
  };
}
