import {
  buildCompleteRequest,
  cellContext,
  clipCells,
  DEFAULT_SETTINGS,
  IEditorSnapshot,
  inertMarkdown,
  languageFromMime,
  MAX_CONTEXT_CHARS,
  remainingSuggestion
} from '../request';
import { SSEParser } from '../sse';

const notebook: IEditorSnapshot = {
  text: 'total = 0\nfor n in nums:\n    \nprint(total)',
  offset: 'total = 0\nfor n in nums:\n    '.length,
  mimeType: 'text/x-ipython',
  kernelLanguage: 'python3',
  path: 'work/analysis.ipynb',
  activeCell: 2,
  cells: [
    { cell_type: 'markdown', source: '# Totals' },
    { cell_type: 'code', source: 'nums = [1, 2, 3]' },
    { cell_type: 'code', source: 'ACTIVE' },
    { cell_type: 'code', source: 'print(nums)' }
  ]
};

describe('buildCompleteRequest', () => {
  it('splits the active cell at the cursor and sends the other cells in order', () => {
    const req = buildCompleteRequest(notebook, DEFAULT_SETTINGS, {
      candidates: 1,
      requestId: 'codegen-nb-1'
    });
    expect(req.prefix).toBe('total = 0\nfor n in nums:\n    ');
    expect(req.suffix).toBe('\nprint(total)');
    expect(req.cells_before).toEqual([
      { cell_type: 'markdown', source: '# Totals' },
      { cell_type: 'code', source: 'nums = [1, 2, 3]' }
    ]);
    expect(req.cells_after).toEqual([
      { cell_type: 'code', source: 'print(nums)' }
    ]);
    expect(req.language).toBe('python');
    expect(req.path).toBe('work/analysis.ipynb');
    expect(req).toMatchObject({
      stream: true,
      n: 1,
      max_tokens: 64,
      multiline: true,
      request_id: 'codegen-nb-1'
    });
  });

  it('honours the settings', () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      useOtherCells: false,
      multiline: false,
      maxTokens: 16
    };
    const req = buildCompleteRequest(notebook, settings, {
      candidates: 3,
      requestId: 'r'
    });
    expect(req.cells_before).toEqual([]);
    expect(req.cells_after).toEqual([]);
    expect(req).toMatchObject({ multiline: false, max_tokens: 16, n: 3 });
  });

  it('sends a file editor’s prefix and suffix with the language of its MIME type', () => {
    const file: IEditorSnapshot = {
      text: 'fn main() {\n    \n}',
      offset: 16,
      mimeType: 'text/x-rustsrc',
      path: 'src/main.rs'
    };
    const req = buildCompleteRequest(file, DEFAULT_SETTINGS, {
      candidates: 1,
      requestId: 'r'
    });
    expect(req.prefix).toBe('fn main() {\n    ');
    expect(req.suffix).toBe('\n}');
    expect(req.language).toBe('rust');
    expect(req.cells_before).toBeUndefined();
  });

  it('keeps a huge notebook within the context allowance, nearest cells first', () => {
    const big = 'x'.repeat(MAX_CONTEXT_CHARS / 4);
    const cells = [0, 1, 2, 3, 4].map(i => ({
      cell_type: 'code' as const,
      source: `${i}${big}`
    }));
    const snapshot = {
      ...notebook,
      cells: [...cells, { cell_type: 'code' as const, source: '' }],
      activeCell: 5
    };
    const req = buildCompleteRequest(snapshot, DEFAULT_SETTINGS, {
      candidates: 1,
      requestId: 'r'
    });
    const sent = req.cells_before!.map(c => c.source[0]);
    expect(sent).toEqual(['3', '4']);
  });

  it('sends the live namespace when the editor has a kernel', () => {
    const req = buildCompleteRequest(
      { ...notebook, namespace: 'df: DataFrame 3x2 (a: int64, b: object)' },
      DEFAULT_SETTINGS,
      { candidates: 1, requestId: 'r' }
    );
    expect(req.namespace).toBe('df: DataFrame 3x2 (a: int64, b: object)');
    const busy = buildCompleteRequest(
      { ...notebook, namespace: '' },
      DEFAULT_SETTINGS,
      { candidates: 1, requestId: 'r' }
    );
    expect(busy.namespace).toBe('');
    const file = buildCompleteRequest(
      { text: 'x = 1', offset: 5, mimeType: 'text/x-python' },
      DEFAULT_SETTINGS,
      { candidates: 1, requestId: 'r' }
    );
    expect(file).not.toHaveProperty('namespace');
  });

  it('builds a console request: earlier inputs before, nothing after', () => {
    const req = buildCompleteRequest(
      {
        text: 'zq',
        offset: 2,
        mimeType: 'text/x-ipython',
        cells: [
          {
            cell_type: 'code',
            source: 'def zqx_mangle(s):\n    return s[::-1]'
          },
          { cell_type: 'code', source: 'zqx_mangle("ab")' },
          { cell_type: 'code', source: 'zq' }
        ],
        activeCell: 2
      },
      DEFAULT_SETTINGS,
      { candidates: 1, requestId: 'r' }
    );
    expect(req.cells_before?.map(c => c.source)).toEqual([
      'def zqx_mangle(s):\n    return s[::-1]',
      'zqx_mangle("ab")'
    ]);
    expect(req.cells_after).toEqual([]);
    expect(req.prefix).toBe('zq');
  });
});

describe('languageFromMime', () => {
  it.each([
    ['text/x-python', 'python'],
    ['text/x-ipython', 'python'],
    ['text/x-rsrc', 'r'],
    ['text/x-julia', 'julia'],
    ['text/x-haskell', 'haskell'],
    ['application/json', 'python'],
    [undefined, 'python']
  ])('%s -> %s', (mime, language) => {
    expect(languageFromMime(mime)).toBe(language);
  });
});

describe('clipCells', () => {
  const cells = ['aa', 'bbb', 'cccc'].map(s => cellContext('code', s));
  it('keeps the nearest cells that fit', () => {
    expect(clipCells(cells, 7, true).map(c => c.source)).toEqual([
      'bbb',
      'cccc'
    ]);
    expect(clipCells(cells, 5, false).map(c => c.source)).toEqual([
      'aa',
      'bbb'
    ]);
  });
  it('maps unknown cell types to raw', () => {
    expect(cellContext('heading', 'x').cell_type).toBe('raw');
  });
});

describe('remainingSuggestion', () => {
  const shown = {
    prefix: 'x = ',
    suffix: '',
    candidates: ['compute(a, b)', 'comb(a)', 'len(a)']
  };
  it('returns the rest of each matching candidate as the user types it', () => {
    expect(remainingSuggestion(shown, 'x = com', '')).toEqual({
      typed: 'com',
      rest: ['pute(a, b)', 'b(a)']
    });
  });
  it('gives up when the typing diverges, the suffix changed, or nothing was typed', () => {
    expect(remainingSuggestion(shown, 'x = q', '')).toBeNull();
    expect(remainingSuggestion(shown, 'x = com', ')')).toBeNull();
    expect(remainingSuggestion(shown, 'x = ', '')).toBeNull();
    expect(remainingSuggestion(shown, 'y = com', '')).toBeNull();
    expect(remainingSuggestion(shown, 'x = len(a)', '')).toBeNull();
    expect(remainingSuggestion(null, 'x = c', '')).toBeNull();
  });
});

describe('SSEParser', () => {
  it('assembles events split across chunks', () => {
    const parser = new SSEParser();
    expect(parser.feed('event: completion\ndata: {"index": 0, ')).toEqual([]);
    expect(parser.feed('"text": "to"}\n\nevent: done\r\n')).toEqual([
      { event: 'completion', data: { index: 0, text: 'to' } }
    ]);
    expect(parser.feed('data: {"completions": []}\r\n\r\n')).toEqual([
      { event: 'done', data: { completions: [] } }
    ]);
  });
  it('joins multi-line data and keeps text that is not JSON', () => {
    const parser = new SSEParser();
    expect(parser.feed('data: a\ndata: b\n\n: comment\n\n')).toEqual([
      { event: 'message', data: 'a\nb' }
    ]);
  });
});

describe('inertMarkdown', () => {
  it('shows raw HTML as text', () => {
    const out = inertMarkdown(
      'Look: <img src=x onerror="alert(1)"> and <script>alert(2)</script>'
    );
    expect(out).not.toMatch(/<img|<script/);
    expect(out).toContain('&lt;img src=x onerror="alert(1)">');
    expect(out).toContain('&lt;script>alert(2)&lt;/script>');
  });
  it('turns images into their alt text, so nothing is fetched', () => {
    expect(
      inertMarkdown('see ![a chart](http://evil.example/x.png) here')
    ).toBe('see a chart here');
    expect(inertMarkdown('![logo][1]')).toBe('logo');
  });
  it('leaves code blocks and inline code alone', () => {
    const md =
      'Use `a < b`:\n```python\nif a < b:\n    print("<b>")\n```\nthen <b>bold</b>';
    expect(inertMarkdown(md)).toBe(
      'Use `a < b`:\n```python\nif a < b:\n    print("<b>")\n```\nthen &lt;b>bold&lt;/b>'
    );
  });
});
