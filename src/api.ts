/**
 * Typed client for the jupyter-codegen server endpoints.
 *
 * Every call goes through `ServerConnection`, so the token and XSRF headers of
 * the running Jupyter server are attached for us.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ISSEvent, SSEParser } from './sse';
import type { IStatus } from './types';

export * from './types';

/** The namespace of the server extension's routes. */
export const API_NAMESPACE = 'jupyter-codegen';

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
