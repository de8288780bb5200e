/**
 * The wire types of the jupyter-codegen HTTP API (a leaf module: no imports).
 */

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
  /** While loading: what it is doing ("converting", "loading") and how far (0..1). */
  stage?: string | null;
  progress?: number | null;
  load_seconds: number | null;
  version?: string;
  parameters?: number;
  memory?: { rss_bytes?: number; peak_rss_bytes?: number };
  limits?: IStatusLimits;
  requests?: {
    active: number;
    queued: number;
    completed: number;
    cancelled: number;
    failed: number;
    recent: IRequestRecord[];
  };
}

/** The server's limits: larger `max_tokens` and `n` are clamped to them. */
export interface IStatusLimits {
  completion_max_tokens: number;
  explain_max_tokens: number;
  max_candidates: number;
  max_concurrent: number;
  max_queued: number;
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
  /** The kernel's live variables, described by `live_context` in the kernel. */
  namespace?: string;
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

/** One earlier turn of an Explain conversation. */
export interface IChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

/** Body of `POST /jupyter-codegen/explain`. */
export interface IExplainRequest {
  code: string;
  cells_before?: ICellContext[];
  question?: string;
  /** The conversation so far about `code`, oldest first (follow-up questions). */
  history?: IChatTurn[];
  /** Live variables of the kernel (Contract A's `text`). */
  namespace?: string;
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

/** Body of `POST /jupyter-codegen/generate`. */
export interface IGenerateRequest {
  instruction: string;
  cells_before?: ICellContext[];
  /** Live variables of the kernel (Contract A's `text`). */
  namespace?: string;
  language?: string;
  max_tokens?: number;
  stream?: boolean;
  request_id?: string;
}

/** Reply of `POST /jupyter-codegen/generate` (and its final `done` event). */
export interface IGenerateReply {
  code: string;
  text: string;
  model: string;
  finish_reason: string;
  timings: Record<string, number>;
}
