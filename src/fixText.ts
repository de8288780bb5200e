/**
 * Pure helpers of "Fix Error": the error output as the server reads it, the
 * lines that failed (their names are looked up in the kernel first), the
 * request body, and which notebook cell an edit of the reply names. No
 * JupyterLab imports: jest tests them directly.
 */
import { normalLanguage } from './editText';
import { liveSource, MAX_LIVE_SOURCE_CHARS } from './kernelContext';
import { MAX_CONTEXT_CHARS } from './request';
import type {
  ICell,
  ICellEdit,
  IFixRequest,
  IKernelError
} from './wire.generated';
import {
  MAX_CELLS,
  MAX_ENAME_CHARS,
  MAX_EVALUE_CHARS,
  MAX_FRAME_CHARS,
  MAX_TRACEBACK_FRAMES
} from './wire.generated';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]/g;

/** `text` without its terminal colour codes. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** An output of a cell, as nbformat stores it (only what is read here). */
export interface IOutputLike {
  output_type: string;
  ename?: unknown;
  evalue?: unknown;
  traceback?: unknown;
}

/**
 * The error of an `error` output exactly as the kernel sent it (ANSI codes
 * included), within the server's bounds; null for other outputs.
 */
export function kernelError(
  output: IOutputLike | null | undefined
): IKernelError | null {
  if (!output || output.output_type !== 'error') {
    return null;
  }
  const traceback = Array.isArray(output.traceback)
    ? output.traceback.map(frame => String(frame))
    : [];
  return {
    ename: String(output.ename ?? '').slice(0, MAX_ENAME_CHARS),
    evalue: String(output.evalue ?? '').slice(0, MAX_EVALUE_CHARS),
    // The innermost frames and the error's own line are at the end.
    traceback: traceback
      .slice(-MAX_TRACEBACK_FRAMES)
      .map(frame => frame.slice(0, MAX_FRAME_CHARS))
  };
}

/**
 * The code lines that were running when the error was raised, outermost
 * first: IPython's `---->` lines, or the line under each `File "…", line N`
 * of a plain Python traceback.
 */
export function failingLines(traceback: readonly string[]): string[] {
  const lines: string[] = [];
  for (const frame of traceback) {
    const rows = stripAnsi(frame).split('\n');
    rows.forEach((row, i) => {
      const arrow = /^\s*-*>\s*\d+\s?(.*)$/.exec(row);
      if (arrow) {
        if (arrow[1].trim()) {
          lines.push(arrow[1].trim());
        }
        return;
      }
      if (/^\s*File ".*", line \d+/.test(row)) {
        const next = rows[i + 1];
        if (next !== undefined && next.trim() && !/^\s*File "/.test(next)) {
          lines.push(next.trim());
        }
      }
    });
  }
  return [...new Set(lines)];
}

/**
 * The source the kernel chooses live names from for a fix: the failing
 * lines first (their names come first), then the cell and the others.
 */
export function fixLiveSource(
  error: IKernelError,
  cells: ICell[],
  active: number
): string {
  const failing = failingLines(error.traceback ?? []).join('\n');
  const rest = liveSource(cells[active]?.source ?? '', cells, active);
  return (failing ? `${failing}\n${rest}` : rest).slice(
    0,
    MAX_LIVE_SOURCE_CHARS
  );
}

/** What the fix command knows when it builds its request. */
export interface IFixSnapshot {
  /** The notebook's cells in order, markdown and raw included. */
  cells: ICell[];
  /** The index of the failing cell in `cells`. */
  active: number;
  error: IKernelError;
  language?: string;
  namespace?: string;
  maxTokens?: number;
}

/** A fix request and where its `cells_before` start in the notebook. */
export interface IFixBody {
  request: IFixRequest;
  /** The notebook index of `cells_before[0]` (0 unless the top was left out). */
  offset: number;
}

/**
 * The body of `POST /fix`: the failing cell, its error, and the notebook's
 * cells around it in order (indices into `cells_before` name cells). A huge
 * notebook is cut at the top (and the bottom) within the context allowance;
 * `offset` maps the reply's indices back.
 */
export function buildFixRequest(snapshot: IFixSnapshot): IFixBody {
  const { cells, active } = snapshot;
  let offset = active;
  let used = 0;
  while (
    offset > 0 &&
    active - offset < MAX_CELLS &&
    used + cells[offset - 1].source.length <= MAX_CONTEXT_CHARS
  ) {
    offset--;
    used += cells[offset].source.length;
  }
  const after: ICell[] = [];
  used = 0;
  for (const cell of cells.slice(active + 1, active + 1 + MAX_CELLS)) {
    if (used + cell.source.length > MAX_CONTEXT_CHARS / 4) {
      break;
    }
    after.push(cell);
    used += cell.source.length;
  }
  const request: IFixRequest = {
    cells_before: cells.slice(offset, active),
    cell: cells[active]?.source ?? '',
    cells_after: after,
    error: snapshot.error,
    namespace: snapshot.namespace ?? '',
    language: normalLanguage(snapshot.language)
  };
  if (snapshot.maxTokens) {
    request.max_tokens = snapshot.maxTokens;
  }
  return { request, offset };
}

/**
 * The notebook index of the cell an edit names (`active`, or an index into
 * the request's `cells_before`), or null when it names no cell sent.
 */
export function editTarget(
  edit: Pick<ICellEdit, 'cell'>,
  body: IFixBody,
  active: number
): number | null {
  if (edit.cell === 'active') {
    return active;
  }
  const index = Number(edit.cell);
  const sent = body.request.cells_before?.length ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= sent) {
    return null;
  }
  return body.offset + index;
}
