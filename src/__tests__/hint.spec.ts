import {
  HINT_KEY,
  HINT_TEXT,
  resetHintForTests,
  showFirstSuggestionHint
} from '../hint';

class MemoryStorage {
  items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

describe('showFirstSuggestionHint', () => {
  beforeEach(() => resetHintForTests());

  it('shows the keys once, and remembers it in the session storage', () => {
    const storage = new MemoryStorage();
    const shown: string[] = [];
    expect(showFirstSuggestionHint(t => shown.push(t), storage)).toBe(true);
    expect(showFirstSuggestionHint(t => shown.push(t), storage)).toBe(false);
    expect(shown).toEqual([HINT_TEXT]);
    expect(storage.getItem(HINT_KEY)).toBe('1');
    for (const key of ['Tab', 'Alt+]', 'Escape']) {
      expect(HINT_TEXT).toContain(key);
    }
  });

  it('is not shown again after a reload in the same session', () => {
    const storage = new MemoryStorage();
    storage.setItem(HINT_KEY, '1');
    const shown: string[] = [];
    expect(showFirstSuggestionHint(t => shown.push(t), storage)).toBe(false);
    expect(shown).toEqual([]);
  });

  it('still shows it once when storage refuses', () => {
    const refusing = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('SecurityError');
      }
    };
    const shown: string[] = [];
    expect(showFirstSuggestionHint(t => shown.push(t), refusing)).toBe(true);
    expect(showFirstSuggestionHint(t => shown.push(t), refusing)).toBe(false);
    expect(shown).toHaveLength(1);
    expect(showFirstSuggestionHint(t => shown.push(t), null)).toBe(false);
  });
});
