/**
 * Pure helpers that turn what the editor shows into requests, and streamed
 * replies back into text. No JupyterLab imports: jest tests them directly.
 */
import type { ICellContext, IChatTurn, ICompleteRequest } from './types';
import { MAX_HISTORY_TURNS, MAX_TURN_CHARS } from './wire.generated';

/** The user's completion preferences (schema/plugin.json). */
export interface ICompletionSettings {
  enabled: boolean;
  trigger: 'automatic' | 'manual';
  maxTokens: number;
  multiline: boolean;
  useOtherCells: boolean;
  candidates: number;
  debounceMs: number;
  /** Describe the kernel's live variables to the model. */
  liveContext: boolean;
}

export const DEFAULT_SETTINGS: ICompletionSettings = {
  enabled: true,
  trigger: 'automatic',
  maxTokens: 64,
  multiline: true,
  useOtherCells: true,
  candidates: 3,
  debounceMs: 250,
  liveContext: true
};

/** At most this many characters of other cells are sent per request. */
export const MAX_CONTEXT_CHARS = 200_000;

/** What the provider knows about the document being edited. */
export interface IEditorSnapshot {
  /** The active cell's (or file's) whole text. */
  text: string;
  /** The cursor's offset in `text`. */
  offset: number;
  /** The editor's MIME type. */
  mimeType?: string;
  /** The kernel's language, for notebooks. */
  kernelLanguage?: string;
  /** The document's path. */
  path?: string;
  /** The notebook's cells in order, the active one included; none for a file. */
  cells?: ICellContext[];
  /** The index of the active cell in `cells`. */
  activeCell?: number;
  /** The kernel's live variables (kernelContext.ts), '' when unknown. */
  namespace?: string;
}

const MIME_LANGUAGES: Record<string, string> = {
  'text/x-python': 'python',
  'text/x-ipython': 'python',
  'text/x-rsrc': 'r',
  'text/x-r': 'r',
  'text/x-julia': 'julia',
  'text/x-sh': 'bash',
  'text/x-sql': 'sql',
  'text/x-mysql': 'sql',
  'text/x-pgsql': 'sql',
  'text/javascript': 'javascript',
  'application/javascript': 'javascript',
  'text/typescript': 'typescript',
  'application/typescript': 'typescript',
  'text/x-c++src': 'cpp',
  'text/x-csrc': 'c',
  'text/x-java': 'java',
  'text/x-rustsrc': 'rust',
  'text/x-go': 'go',
  'text/x-scala': 'scala'
};

/** The language of an editor's MIME type; `python` when unknown. */
export function languageFromMime(mimeType: string | undefined): string {
  if (!mimeType) {
    return 'python';
  }
  const known = MIME_LANGUAGES[mimeType.toLowerCase()];
  if (known) {
    return known;
  }
  const match = /^text\/x-([a-z0-9+#-]+)$/i.exec(mimeType);
  return match ? match[1].toLowerCase() : 'python';
}

/**
 * Keep the cells nearest the active one within `budget` characters: the
 * server chooses among them, but a huge notebook must not be sent on every
 * keystroke.
 */
export function clipCells(
  cells: ICellContext[],
  budget: number,
  fromEnd: boolean
): ICellContext[] {
  const kept: ICellContext[] = [];
  let used = 0;
  const order = fromEnd ? [...cells].reverse() : cells;
  for (const cell of order) {
    if (used + cell.source.length > budget) {
      break;
    }
    kept.push(cell);
    used += cell.source.length;
  }
  return fromEnd ? kept.reverse() : kept;
}

/** The body of `POST /complete` for the editor's state. */
export function buildCompleteRequest(
  snapshot: IEditorSnapshot,
  settings: ICompletionSettings,
  options: { candidates: number; requestId: string }
): ICompleteRequest {
  const { text, offset } = snapshot;
  const request: ICompleteRequest = {
    prefix: text.slice(0, offset),
    suffix: text.slice(offset),
    language: (snapshot.kernelLanguage || languageFromMime(snapshot.mimeType))
      .toLowerCase()
      .replace(/^python\d*$/, 'python'),
    max_tokens: settings.maxTokens,
    multiline: settings.multiline,
    n: Math.max(1, options.candidates),
    stream: true,
    request_id: options.requestId
  };
  if (snapshot.path) {
    request.path = snapshot.path;
  }
  if (snapshot.namespace !== undefined) {
    request.namespace = snapshot.namespace;
  }
  if (snapshot.cells && snapshot.activeCell !== undefined) {
    if (settings.useOtherCells) {
      const before = snapshot.cells.slice(0, snapshot.activeCell);
      const after = snapshot.cells.slice(snapshot.activeCell + 1);
      // Three quarters of the allowance before the cell, the rest after it.
      request.cells_before = clipCells(
        before,
        (MAX_CONTEXT_CHARS * 3) / 4,
        true
      );
      request.cells_after = clipCells(after, MAX_CONTEXT_CHARS / 4, false);
    } else {
      request.cells_before = [];
      request.cells_after = [];
    }
  }
  return request;
}

/** A suggestion on screen: where it was asked for and its candidates. */
export interface IShownSuggestion {
  prefix: string;
  suffix: string;
  candidates: string[];
}

/**
 * If the user has typed the start of a suggestion on screen, what remains
 * of each candidate that still matches (the typed text removed); else null.
 */
export function remainingSuggestion(
  shown: IShownSuggestion | null,
  prefix: string,
  suffix: string
): { typed: string; rest: string[] } | null {
  if (!shown || suffix !== shown.suffix || !prefix.startsWith(shown.prefix)) {
    return null;
  }
  const typed = prefix.slice(shown.prefix.length);
  if (!typed) {
    return null;
  }
  const rest = shown.candidates
    .filter(c => c.length > typed.length && c.startsWith(typed))
    .map(c => c.slice(typed.length));
  return rest.length ? { typed, rest } : null;
}

/**
 * Make model-written markdown inert before it is rendered: raw HTML is shown
 * as text and images become their alt text, so nothing runs and nothing is
 * fetched from elsewhere. Code blocks and inline code are left as they are
 * (the renderer escapes them).
 */
export function inertMarkdown(markdown: string): string {
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const opener = /^\s*(```+|~~~+)/.exec(line);
    if (fence) {
      out.push(line);
      if (opener && opener[1].startsWith(fence)) {
        fence = null;
      }
      continue;
    }
    if (opener) {
      fence = opener[1];
      out.push(line);
      continue;
    }
    // Split out inline code spans, and escape only outside them.
    const parts = line.split(/(`+[^`]*`+)/);
    out.push(
      parts
        .map((part, i) =>
          i % 2 === 1
            ? part
            : part
                .replace(/&/g, '&amp;')
                .replace(/</g, '&lt;')
                .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
                .replace(/!\[([^\]]*)\]\[[^\]]*\]/g, '$1')
        )
        .join('')
    );
  }
  return out.join('\n');
}

/** A cell as the server expects it; unknown cell types count as raw. */
export function cellContext(cellType: string, source: string): ICellContext {
  const known = cellType === 'code' || cellType === 'markdown';
  return { cell_type: known ? cellType : 'raw', source };
}

/** The server's bounds on an Explain request's earlier turns (generated). */
export { MAX_HISTORY_TURNS, MAX_TURN_CHARS };

/** One question (none: a plain explanation) and its answer so far. */
export interface IExchange {
  question?: string;
  answer: string;
}

/**
 * The `history` of a follow-up question: the earlier exchanges as chat turns,
 * oldest first, within the server's bounds (the newest whole exchanges, each
 * turn cut to its longest).
 */
export function conversationHistory(exchanges: IExchange[]): IChatTurn[] {
  const turns: IChatTurn[] = [];
  for (const exchange of exchanges.slice(-Math.floor(MAX_HISTORY_TURNS / 2))) {
    turns.push(
      {
        role: 'user',
        content: (exchange.question ?? '').slice(0, MAX_TURN_CHARS)
      },
      { role: 'assistant', content: exchange.answer.slice(0, MAX_TURN_CHARS) }
    );
  }
  return turns;
}
