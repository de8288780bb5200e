/**
 * Typed client for the jupyter-codegen server endpoints.
 *
 * Every call goes through `ServerConnection`, so the token and XSRF headers of
 * the running Jupyter server are attached for us.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ISSEvent, SSEParser } from './request';

/** The namespace of the server extension's routes. */
export const API_NAMESPACE = 'jupyter-codegen';

/** Loading state of the model hosted by the server. */
export type ModelState = 'loading' | 'ready' | 'error';

/** Reply of `GET /jupyter-codegen/status`. */
export interface IStatus {
  state: ModelState;
  model: string;
  device: string | null;
  dtype: string | null;
  family: string | null;
  error: string | null;
  detail: string | null;
  load_seconds: number | null;
  version?: string;
  parameters?: number;
  memory?: { rss_bytes?: number; peak_rss_bytes?: number };
  requests?: {
    active: number;
    queued: number;
    completed: number;
    cancelled: number;
    failed: number;
    recent: IRequestRecord[];
  };
}

/** One finished request, as the status endpoint lists them. */
export interface IRequestRecord {
  request_id: string;
  kind: string;
  outcome: string;
  generated_tokens: number;
  total_ms: number;
  first_token_ms?: number;
}

/** A cell of the notebook, as the server expects it. */
export interface ICellContext {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string;
}

/** Body of `POST /jupyter-codegen/complete`. */
export interface ICompleteRequest {
  prefix: string;
  suffix: string;
  cells_before?: ICellContext[];
  cells_after?: ICellContext[];
  language?: string;
  path?: string;
  max_tokens?: number;
  n?: number;
  multiline?: boolean;
  stream?: boolean;
  request_id?: string;
}

/** One candidate of a completion reply. */
export interface ICompletion {
  text: string;
  index: number;
  candidate: number;
  finish_reason: string;
}

/** Reply of `POST /jupyter-codegen/complete`. */
export interface ICompleteReply {
  completions: ICompletion[];
  model: string;
  timings: Record<string, number>;
}

/** Error raised when the server answers with a status other than 2xx. */
export class CodegenAPIError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

/**
 * Call an endpoint of the server extension and parse its JSON reply.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  let data: any = text;
  try {
    data = text.length ? JSON.parse(text) : {};
  } catch {
    // Not JSON: keep the raw text for the error message.
  }
  if (!response.ok) {
    const message =
      (data && typeof data === 'object' && data.message) || String(data);
    throw new CodegenAPIError(response.status, message);
  }
  return data as T;
}

/** Fetch the model host's status. */
export function fetchStatus(): Promise<IStatus> {
  return requestAPI<IStatus>('status');
}

/** Body of `POST /jupyter-codegen/explain`. */
export interface IExplainRequest {
  code: string;
  cells_before?: ICellContext[];
  question?: string;
  language?: string;
  max_tokens?: number;
  stream?: boolean;
  request_id?: string;
}

/** Reply of `POST /jupyter-codegen/explain`. */
export interface IExplainReply {
  explanation: string;
  model: string;
  finish_reason: string;
  timings: Record<string, number>;
}

/**
 * POST `body` with `"stream": true` and call `onEvent` for each server-sent
 * event as it arrives. Resolves when the stream ends; rejects with
 * `CodegenAPIError` for an error reply, and with an `AbortError` when
 * `signal` aborts (which also makes the server stop generating).
 */
export async function streamAPI(
  endPoint: string,
  body: object,
  onEvent: (event: ISSEvent) => void,
  signal?: AbortSignal
): Promise<void> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  const response = await ServerConnection.makeRequest(
    url,
    { method: 'POST', body: JSON.stringify({ ...body, stream: true }), signal },
    settings
  );
  if (!response.ok) {
    const text = await response.text();
    let message = text;
    try {
      message = JSON.parse(text).message || text;
    } catch {
      // not JSON
    }
    throw new CodegenAPIError(response.status, message);
  }
  if (!response.body) {
    throw new CodegenAPIError(500, 'The server sent no stream');
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
      if (event.event === 'error') {
        throw new CodegenAPIError(
          500,
          event.data?.message ?? String(event.data)
        );
      }
      onEvent(event);
    }
  }
}

/** Ask the server to stop the generation with this request id. */
export async function cancelRequest(requestId: string): Promise<void> {
  await requestAPI('cancel', {
    method: 'POST',
    body: JSON.stringify({ request_id: requestId })
  });
}
