/**
 * Pure helpers of the "Generate code from a description" command: the
 * description at the cursor, where the code goes, the request body, and the
 * code of a reply that is still streaming. No JupyterLab imports: jest tests
 * them directly.
 */
import { clipCells, MAX_CONTEXT_CHARS } from './request';
import type { ICellContext, IGenerateRequest } from './types';
import { MAX_QUESTION_CHARS } from './wire.generated';

/** The longest description the server accepts: `instruction` is bounded like a question. */
export const MAX_DESCRIPTION_CHARS = MAX_QUESTION_CHARS;

/** Where generated code goes: a new cell below, or the active cell's cursor. */
export type GenerateInto = 'newCell' | 'cursor';

const COMMENT = /^\s*(?:#+|\/\/+|--)(?!!)\s?(.*)$/;

/** The text of a comment line without its marker, or null for other lines. */
export function commentText(line: string): string | null {
  if (/^\s*#!/.test(line)) {
    return null; // a shebang
  }
  const match = COMMENT.exec(line);
  return match ? match[1].trim() : null;
}

/** The lines of `text` and the index of the line that holds `offset`. */
function lineAt(text: string, offset: number): { lines: string[]; at: number } {
  const lines = text.split('\n');
  const at = text.slice(0, Math.max(0, offset)).split('\n').length - 1;
  return { lines, at: Math.min(at, lines.length - 1) };
}

/** The comment block (contiguous comment lines) around line `at`. */
function commentBlock(
  lines: string[],
  at: number
): { first: number; last: number } | null {
  if (at < 0 || at >= lines.length || commentText(lines[at]) === null) {
    return null;
  }
  let first = at;
  let last = at;
  while (first > 0 && commentText(lines[first - 1]) !== null) {
    first--;
  }
  while (last < lines.length - 1 && commentText(lines[last + 1]) !== null) {
    last++;
  }
  return { first, last };
}

function joined(lines: string[], first: number, last: number): string {
  return lines
    .slice(first, last + 1)
    .map(line => commentText(line) ?? '')
    .filter(Boolean)
    .join(' ')
    .slice(0, MAX_DESCRIPTION_CHARS);
}

/**
 * The description the cell already holds: the comment at the cursor (with
 * the comment lines next to it), or else the comment that ends the cell;
 * '' when there is neither.
 */
export function descriptionAt(text: string, offset: number): string {
  const { lines, at } = lineAt(text, offset);
  const here = commentBlock(lines, at);
  if (here) {
    return joined(lines, here.first, here.last);
  }
  let end = lines.length - 1;
  while (end >= 0 && !lines[end].trim()) {
    end--;
  }
  const trailing = commentBlock(lines, end);
  return trailing ? joined(lines, trailing.first, trailing.last) : '';
}

/**
 * Where code generated "at the cursor" goes in `text`: after the comment
 * block at the cursor, at the start of a blank cursor line, or else on a new
 * line after the cursor's line. `lead` is the text to put before the code.
 */
export function insertionPoint(
  text: string,
  offset: number
): { offset: number; lead: string } {
  const { lines, at } = lineAt(text, offset);
  const block = commentBlock(lines, at);
  const line = block ? block.last : at;
  const start = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0);
  if (!block && !lines[line].trim()) {
    return { offset: start, lead: '' };
  }
  return { offset: start + lines[line].length, lead: '\n' };
}

/** What the command knows when it builds its request. */
export interface IGenerateSnapshot {
  description: string;
  /** The notebook's cells in order, the active one included. */
  cells: ICellContext[];
  /** The index of the active cell in `cells`. */
  active: number;
  into: GenerateInto;
  /** For `cursor`: the active cell's text before the insertion point. */
  before?: string;
  language?: string;
  namespace?: string;
  maxTokens?: number;
  requestId: string;
}

/**
 * The body of `POST /generate`: the description, and as context the cells
 * above the code (the active cell whole for a new cell below it, or up to
 * the insertion point), with the live variables of the kernel.
 */
export function buildGenerateRequest(
  snapshot: IGenerateSnapshot
): IGenerateRequest {
  const above = snapshot.cells.slice(0, Math.max(0, snapshot.active));
  const active = snapshot.cells[snapshot.active];
  if (active) {
    if (snapshot.into === 'newCell') {
      above.push(active);
    } else if ((snapshot.before ?? '').trim()) {
      above.push({ ...active, source: snapshot.before! });
    }
  }
  const request: IGenerateRequest = {
    instruction: snapshot.description.trim().slice(0, MAX_DESCRIPTION_CHARS),
    cells_before: clipCells(
      above.filter(cell => cell.source.trim()),
      MAX_CONTEXT_CHARS,
      true
    ),
    language: (snapshot.language || 'python')
      .toLowerCase()
      .replace(/^python\d*$/, 'python'),
    stream: true,
    request_id: snapshot.requestId
  };
  if (snapshot.namespace) {
    request.namespace = snapshot.namespace;
  }
  if (snapshot.maxTokens) {
    request.max_tokens = snapshot.maxTokens;
  }
  return request;
}

const FENCE = /^\s*(```+|~~~+)/;

/**
 * The code in a chat reply that may still be streaming, the way the server's
 * `extract_code` reads a whole one: the first fenced block (unclosed counts),
 * or, without fences, the reply itself. A line that may be the start of a
 * fence (some backticks) is held back until it is known.
 */
export function codeOfReply(text: string): string {
  const lines = text
    .replace(/\r\n/g, '\n')
    .replace(/^\s*\n/, '')
    .split('\n');
  const start = lines.findIndex(line => FENCE.test(line));
  if (start < 0) {
    const last = lines[lines.length - 1];
    if (/^\s*`{1,2}$/.test(last) || /^\s*~{1,2}$/.test(last)) {
      lines.pop();
    }
    return lines.join('\n').trim();
  }
  const body: string[] = [];
  const opened = start < lines.length - 1; // the fence's own line has ended
  if (!opened) {
    return '';
  }
  for (const line of lines.slice(start + 1)) {
    if (FENCE.test(line)) {
      break;
    }
    body.push(line);
  }
  const end = lines.slice(start + 1).findIndex(line => FENCE.test(line));
  if (end < 0 && body.length && /^\s*[`~]{1,2}$/.test(body[body.length - 1])) {
    body.pop(); // maybe the closing fence, still arriving
  }
  return body.join('\n').replace(/^\n+|\n+$/g, '');
}
