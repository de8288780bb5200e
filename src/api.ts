/**
 * Typed client for the jupyter-codegen server endpoints.
 *
 * Every call goes through `ServerConnection`, so the token and XSRF headers of
 * the running Jupyter server are attached for us.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { errorFromResponse } from './errors';
import { CodegenStream, IStreamOptions, IStreamTransport } from './stream';
import type { ICancelRequest, IStatus } from './types';

export * from './types';
export { CodegenAPIError, requestFailure } from './errors';
export type { IRequestFailure } from './errors';
export { CodegenStream, StreamSlot } from './stream';
export type { StreamOutcome } from './stream';
export type { ISSEvent } from './sse';

/** The namespace of the server extension's routes. */
export const API_NAMESPACE = 'jupyter-codegen';

/** `fetch` an endpoint of the server extension; the raw response. */
function fetchAPI(endPoint: string, init: RequestInit): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  return ServerConnection.makeRequest(url, init, settings);
}

/**
 * Call an endpoint of the server extension and parse its JSON reply; rejects
 * with `CodegenAPIError` for an error reply.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
  const response = await fetchAPI(endPoint, init);
  const text = await response.text();
  if (!response.ok) {
    throw errorFromResponse(response.status, text, response.statusText);
  }
  try {
    return (text.length ? JSON.parse(text) : {}) as T;
  } catch {
    return text as T; // not JSON
  }
}

/** Fetch the model host's status. */
export function fetchStatus(): Promise<IStatus> {
  return requestAPI<IStatus>('status');
}

/** Ask the server to stop the generation with this request id. */
export async function cancelRequest(requestId: string): Promise<void> {
  const body: ICancelRequest = { request_id: requestId };
  await requestAPI('cancel', { method: 'POST', body: JSON.stringify(body) });
}

/** Streamed requests to the Jupyter server that hosts the extension. */
export const serverTransport: IStreamTransport = {
  post: (endPoint, body, signal) =>
    fetchAPI(endPoint, { method: 'POST', body, signal }),
  cancel: cancelRequest
};

/** A streamed request to the server (see `CodegenStream`); `run` starts it. */
export function streamRequest(
  options: Omit<IStreamOptions, 'transport'>
): CodegenStream {
  return new CodegenStream({ ...options, transport: serverTransport });
}
