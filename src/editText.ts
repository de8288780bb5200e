/**
 * Pure helpers of "Edit Code with an Instruction…" and of applying a
 * proposal: the request body, the cell as the rewrite would leave it, and
 * the smallest change that turns one text into another. No JupyterLab
 * imports: jest tests them directly.
 */
import { clipCells, MAX_CONTEXT_CHARS } from './request';
import type { ICell, IEditRequest, ISelection } from './wire.generated';
import { MAX_QUESTION_CHARS } from './wire.generated';

/** The longest instruction the server accepts (bounded like a question). */
export const MAX_INSTRUCTION_CHARS = MAX_QUESTION_CHARS;

/** One replacement in a text: `text.slice(start, end)` becomes `insert`. */
export interface ITextChange {
  start: number;
  end: number;
  insert: string;
}

/**
 * The smallest single replacement that turns `before` into `after`: the
 * common start and end are kept (so the cursor, collaborators and the undo
 * history see only what changed). Null when they are equal.
 */
export function minimalChange(
  before: string,
  after: string
): ITextChange | null {
  if (before === after) {
    return null;
  }
  const limit = Math.min(before.length, after.length);
  let start = 0;
  while (start < limit && before[start] === after[start]) {
    start++;
  }
  let tail = 0;
  while (
    tail < limit - start &&
    before[before.length - 1 - tail] === after[after.length - 1 - tail]
  ) {
    tail++;
  }
  // Do not split a surrogate pair.
  if (start > 0 && isHighSurrogate(before.charCodeAt(start - 1))) {
    start--;
  }
  if (tail > 0 && isLowSurrogate(before.charCodeAt(before.length - tail))) {
    tail--;
  }
  return {
    start,
    end: before.length - tail,
    insert: after.slice(start, after.length - tail)
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * A selection as the server reads it: ordered, within the cell; null when
 * nothing is selected (the whole cell is rewritten).
 */
export function normalSelection(
  text: string,
  selection: ISelection | null | undefined
): ISelection | null {
  if (!selection) {
    return null;
  }
  const a = Math.max(0, Math.min(selection.start, text.length));
  const b = Math.max(0, Math.min(selection.end, text.length));
  if (a === b) {
    return null;
  }
  return { start: Math.min(a, b), end: Math.max(a, b) };
}

/** The cell with the selection (none: the whole cell) replaced by `text`. */
export function replaceSelection(
  cell: string,
  selection: ISelection | null,
  text: string
): string {
  if (!selection) {
    return text;
  }
  return cell.slice(0, selection.start) + text + cell.slice(selection.end);
}

/** What the edit command knows when it builds its request. */
export interface IEditSnapshot {
  /** The notebook's cells in order, the active one included. */
  cells: ICell[];
  /** The index of the active cell in `cells`. */
  active: number;
  /** The active cell's text. */
  cell: string;
  selection: ISelection | null;
  instruction: string;
  language?: string;
  path?: string;
  namespace?: string;
  maxTokens?: number;
}

/**
 * The body of `POST /edit`: the cell, the selection (null: the whole cell),
 * the instruction, and the notebook around it as context (the nearest cells
 * within the same allowance as completions).
 */
export function buildEditRequest(snapshot: IEditSnapshot): IEditRequest {
  const before = snapshot.cells.slice(0, Math.max(0, snapshot.active));
  const after = snapshot.cells.slice(snapshot.active + 1);
  const request: IEditRequest = {
    cell: snapshot.cell,
    selection: normalSelection(snapshot.cell, snapshot.selection),
    instruction: snapshot.instruction.trim().slice(0, MAX_INSTRUCTION_CHARS),
    cells_before: clipCells(before, (MAX_CONTEXT_CHARS * 3) / 4, true),
    cells_after: clipCells(after, MAX_CONTEXT_CHARS / 4, false),
    language: normalLanguage(snapshot.language),
    namespace: snapshot.namespace ?? ''
  };
  if (snapshot.path) {
    request.path = snapshot.path;
  }
  if (snapshot.maxTokens) {
    request.max_tokens = snapshot.maxTokens;
  }
  return request;
}

/** The kernel's language as the server names it (`python3` is `python`). */
export function normalLanguage(language: string | undefined): string {
  return (language || 'python').toLowerCase().replace(/^python\d*$/, 'python');
}

/** A short one-line form of `text` for a title (at most `max` characters). */
export function oneLine(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}
