/**
 * Typed client for the jupyter-codegen server endpoints.
 *
 * Every call goes through `ServerConnection`, so the token and XSRF headers of
 * the running Jupyter server are attached for us.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

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
}

/** Reply of `POST /jupyter-codegen/complete`. */
export interface ICompleteReply {
  completions: { text: string; index: number; finish_reason: string }[];
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
