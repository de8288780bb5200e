/**
 * The wire types of the jupyter-codegen HTTP API. The request and reply
 * bodies are generated from the server's pydantic models
 * (wire.generated.ts, `jlpm wire:gen`); the status reply, which is not a
 * pydantic model, is written here.
 */
import type { ICell } from './wire.generated';

export type {
  ICancelRequest,
  IChatTurn,
  ICompleteReply,
  ICompleteRequest,
  ICompletion,
  IExplainReply,
  IExplainRequest,
  IGenerateReply,
  IGenerateRequest
} from './wire.generated';

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
  /** Why the (first candidate's) generation ended: stop, length, scope, timeout… */
  finish_reason?: string;
}

/** A cell of the notebook, as the server expects it (`schemas.Cell`). */
export type ICellContext = ICell;
