/**
 * The first-suggestion hint: the first time ghost text appears in a browser
 * session, a short notification names the keys. Once per session: the flag
 * lives in `sessionStorage` (and in memory where storage is unavailable).
 * No JupyterLab imports: jest tests it; the caller passes `show`.
 */

/** The `sessionStorage` key remembering that the hint was shown. */
export const HINT_KEY = 'jupyter-codegen:ghost-text-hint';

/** The hint's words: the inline completer's keys. */
export const HINT_TEXT =
  'Codegen suggestion: Tab accepts it, Alt+] shows the next one ' +
  '(Alt+[ the previous), Escape dismisses it.';

let shownHere = false;

/** The storage to remember the hint in, or null. */
function sessionStore(): Pick<Storage, 'getItem' | 'setItem'> | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled by the browser
  }
}

/**
 * Show the hint unless it was shown in this session; true if shown now.
 * `storage` is for tests; by default the session's storage.
 */
export function showFirstSuggestionHint(
  show: (text: string) => void,
  storage: Pick<Storage, 'getItem' | 'setItem'> | null = sessionStore()
): boolean {
  if (shownHere) {
    return false;
  }
  try {
    if (storage?.getItem(HINT_KEY)) {
      shownHere = true;
      return false;
    }
    storage?.setItem(HINT_KEY, '1');
  } catch {
    // Storage full or refused: the in-memory flag still holds.
  }
  shownHere = true;
  show(HINT_TEXT);
  return true;
}

/** Forget the in-memory flag (tests). */
export function resetHintForTests(): void {
  shownHere = false;
}
