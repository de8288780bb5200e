import {
  liveExpression,
  liveNamespace,
  liveSource,
  lookupCount,
  MAX_LIVE_SOURCE_CHARS,
  MAX_NAMESPACE_CHARS,
  parseLiveReply
} from '../kernelContext';

/** A signal with the `connect` that the module uses. */
class FakeSignal<T> {
  private _slots: ((sender: unknown, args: T) => void)[] = [];
  connect(slot: (sender: unknown, args: T) => void): boolean {
    this._slots.push(slot);
    return true;
  }
  emit(args: T): void {
    this._slots.forEach(slot => slot(this, args));
  }
}

interface IExecuteCall {
  content: Record<string, any>;
  resolve: (reply: any) => void;
}

/**
 * A kernel that records execute requests and answers them as IPython would
 * with `live_context`: `answer` builds the description, or null for an error
 * status (the package missing in the kernel), or 'never' for no reply.
 */
class FakeKernel {
  status = 'idle';
  connectionStatus = 'connected';
  isDisposed = false;
  executionCount = 0;
  calls: IExecuteCall[] = [];
  iopubMessage = new FakeSignal<any>();
  statusChanged = new FakeSignal<string>();
  info: Promise<any>;
  answer: (source: string) => string | null | 'never' = source =>
    `df: DataFrame for ${source.split('\n')[0]} @${this.executionCount}`;
  /**
   * How IPython formats the result: 'bundle' as the package does now
   * (application/json and the same JSON as text/plain), 'plain' as an older
   * package did (text/plain only), 'rich' with `%load_ext rich` (the bundle's
   * JSON, and text/plain coloured and wrapped).
   */
  format: 'bundle' | 'plain' | 'rich' = 'bundle';

  constructor(language = 'python') {
    this.info = Promise.resolve({ language_info: { name: language } });
  }

  requestExecute(content: Record<string, any>) {
    let resolve!: (reply: any) => void;
    const done = new Promise(r => (resolve = r));
    this.calls.push({ content, resolve });
    const expression: string = content.user_expressions.codegen;
    const source = JSON.parse(
      expression.slice(
        expression.indexOf('.live_context(') + '.live_context('.length,
        -1
      )
    ) as string;
    const answer = this.answer(source);
    if (answer !== 'never') {
      const count = this.executionCount;
      queueMicrotask(() =>
        resolve({
          content:
            answer === null
              ? {
                  status: 'ok',
                  execution_count: count,
                  user_expressions: {
                    codegen: {
                      status: 'error',
                      ename: 'ModuleNotFoundError',
                      evalue: "No module named 'jupyter_codegen'",
                      traceback: []
                    }
                  }
                }
              : {
                  status: 'ok',
                  execution_count: count,
                  user_expressions: {
                    codegen: {
                      status: 'ok',
                      data: formatted(
                        {
                          text: answer,
                          names: ['df'],
                          // IPython's execution_count: the next prompt's
                          execution_count: count + 1
                        },
                        this.format
                      ),
                      metadata: {}
                    }
                  }
                }
        })
      );
    }
    return { done };
  }

  /** A cell runs (from any client): the count moves on. */
  runCell(): void {
    this.executionCount++;
    this.iopubMessage.emit({
      header: { msg_type: 'execute_input' },
      content: { code: 'x = 1', execution_count: this.executionCount }
    });
  }
}

/** A result's `data` as the kernel's display formatter makes it. */
function formatted(
  result: Record<string, unknown>,
  format: 'bundle' | 'plain' | 'rich'
): Record<string, unknown> {
  const json = JSON.stringify(result);
  if (format === 'plain') {
    return { 'text/plain': json };
  }
  if (format === 'rich') {
    // rich's Pretty: coloured, and wrapped at the console's width
    const coloured = `\u001b[1m{\u001b[0m${json.slice(1, 60)}\n    ${json.slice(60)}`;
    return { 'application/json': result, 'text/plain': coloured };
  }
  return { 'application/json': result, 'text/plain': json };
}

function sessionOf(kernel: FakeKernel | null): any {
  return { isDisposed: false, session: { kernel } };
}

describe('liveNamespace', () => {
  it('asks an idle Python kernel with a silent execute that stores no history', async () => {
    const kernel = new FakeKernel();
    const text = await liveNamespace(sessionOf(kernel), 'df.head()', true);
    expect(text).toBe('df: DataFrame for df.head() @0');
    expect(kernel.calls).toHaveLength(1);
    const content = kernel.calls[0].content;
    expect(content.code).toBe('');
    expect(content.silent).toBe(true);
    expect(content.store_history).toBe(false);
    expect(content.user_expressions.codegen).toBe(
      "__import__('jupyter_codegen.kernel.live', fromlist=['live_context'])" +
        '.live_context("df.head()")'
    );
  });

  it('caches per execution count, and asks again after a cell ran', async () => {
    const kernel = new FakeKernel();
    const session = sessionOf(kernel);
    expect(await liveNamespace(session, 'a', true)).toContain('@0');
    expect(await liveNamespace(session, 'b', true)).toContain('for a @0');
    expect(kernel.calls).toHaveLength(1);
    kernel.runCell();
    expect(await liveNamespace(session, 'c', true)).toBe(
      'df: DataFrame for c @1'
    );
    expect(await liveNamespace(session, 'd', true)).toBe(
      'df: DataFrame for c @1'
    );
    expect(kernel.calls).toHaveLength(2);
    expect(lookupCount(kernel as any)).toBe(2);
  });

  it('asks again after the first cell ran, when the first lookup came before it', async () => {
    // The first lookup happens before any cell ran (count unknown, then 0).
    const kernel = new FakeKernel();
    const session = sessionOf(kernel);
    expect(await liveNamespace(session, 'a', true)).toBe(
      'df: DataFrame for a @0'
    );
    // Cell 1 runs: its namespace is new, the description must be too.
    kernel.runCell();
    expect(await liveNamespace(session, 'b', true)).toBe(
      'df: DataFrame for b @1'
    );
    expect(kernel.calls).toHaveLength(2);
  });

  it('shares one lookup between calls made while it is in flight', async () => {
    const kernel = new FakeKernel();
    const session = sessionOf(kernel);
    const [a, b] = await Promise.all([
      liveNamespace(session, 'x', true),
      liveNamespace(session, 'y', true)
    ]);
    expect(a).toBe(b);
    expect(kernel.calls).toHaveLength(1);
  });

  it('adds nothing and sends nothing while the kernel is busy', async () => {
    const kernel = new FakeKernel();
    kernel.status = 'busy';
    expect(await liveNamespace(sessionOf(kernel), 'df', true)).toBe('');
    expect(kernel.calls).toHaveLength(0);
    kernel.status = 'starting';
    expect(await liveNamespace(sessionOf(kernel), 'df', true)).toBe('');
    expect(kernel.calls).toHaveLength(0);
  });

  it('does not cache the busy answer: idle again, it asks', async () => {
    const kernel = new FakeKernel();
    kernel.status = 'busy';
    await liveNamespace(sessionOf(kernel), 'df', true);
    kernel.status = 'idle';
    expect(await liveNamespace(sessionOf(kernel), 'df', true)).not.toBe('');
    expect(kernel.calls).toHaveLength(1);
  });

  it('skips non-Python kernels', async () => {
    const kernel = new FakeKernel('R');
    expect(await liveNamespace(sessionOf(kernel), 'df', true)).toBe('');
    expect(kernel.calls).toHaveLength(0);
  });

  it('accepts python3 as the language', async () => {
    const kernel = new FakeKernel('python3');
    expect(await liveNamespace(sessionOf(kernel), 'df', true)).not.toBe('');
  });

  it.each(['bundle', 'plain', 'rich'] as const)(
    'reads the description whatever formats text/plain (%s)',
    async format => {
      const kernel = new FakeKernel();
      kernel.format = format;
      expect(await liveNamespace(sessionOf(kernel), 'df', true)).toBe(
        'df: DataFrame for df @0'
      );
    }
  );

  it('is off when the setting is off, and with no kernel or session', async () => {
    const kernel = new FakeKernel();
    expect(await liveNamespace(sessionOf(kernel), 'df', false)).toBe('');
    expect(kernel.calls).toHaveLength(0);
    expect(await liveNamespace(sessionOf(null), 'df', true)).toBe('');
    expect(await liveNamespace(null, 'df', true)).toBe('');
    expect(await liveNamespace(undefined, 'df', true)).toBe('');
    const dead = new FakeKernel();
    dead.connectionStatus = 'disconnected';
    expect(await liveNamespace(sessionOf(dead), 'df', true)).toBe('');
    dead.connectionStatus = 'connected';
    dead.status = 'dead';
    expect(await liveNamespace(sessionOf(dead), 'df', true)).toBe('');
    expect(dead.calls).toHaveLength(0);
  });

  it('gives an empty description, no error, when the kernel lacks the package', async () => {
    const kernel = new FakeKernel();
    kernel.answer = () => null;
    expect(await liveNamespace(sessionOf(kernel), 'df', true)).toBe('');
    expect(kernel.calls).toHaveLength(1);
  });

  it('gives up after the timeout, and the late reply fills the cache', async () => {
    const kernel = new FakeKernel();
    kernel.answer = () => 'never';
    const session = sessionOf(kernel);
    const started = Date.now();
    expect(await liveNamespace(session, 'df', true, 50)).toBe('');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(1000);
    // The kernel answers late: the next call gets it without asking again.
    kernel.calls[0].resolve({
      content: {
        status: 'ok',
        execution_count: 0,
        user_expressions: {
          codegen: {
            status: 'ok',
            data: {
              'text/plain': JSON.stringify({
                text: 'late: int',
                names: ['late'],
                execution_count: 1
              })
            }
          }
        }
      }
    });
    await new Promise(r => setTimeout(r, 0));
    expect(await liveNamespace(session, 'df', true, 50)).toBe('late: int');
    expect(kernel.calls).toHaveLength(1);
  });

  it('times out when the kernel info never comes', async () => {
    const kernel = new FakeKernel();
    kernel.info = new Promise(() => undefined);
    expect(await liveNamespace(sessionOf(kernel), 'df', true, 30)).toBe('');
    expect(kernel.calls).toHaveLength(0);
  });

  it('forgets the cache when the kernel restarts', async () => {
    const kernel = new FakeKernel();
    kernel.runCell();
    const session = sessionOf(kernel);
    expect(await liveNamespace(session, 'a', true)).toContain('@1');
    kernel.statusChanged.emit('restarting');
    kernel.executionCount = 0;
    kernel.answer = () => '';
    expect(await liveNamespace(session, 'a', true)).toBe('');
    expect(kernel.calls).toHaveLength(2);
  });
});

describe('parseLiveReply', () => {
  it('reads the JSON of the user expression', () => {
    expect(
      parseLiveReply({
        status: 'ok',
        execution_count: 3,
        user_expressions: {
          codegen: {
            status: 'ok',
            data: {
              'text/plain':
                '{"text": "x: int", "names": ["x"], "execution_count": 3}'
            }
          }
        }
      } as any)
    ).toEqual({ text: 'x: int', executionCount: 3 });
  });

  it('numbers like execute_input: the reply count, not IPython next prompt', () => {
    expect(
      parseLiveReply({
        status: 'ok',
        execution_count: 1,
        user_expressions: {
          codegen: {
            status: 'ok',
            data: {
              'text/plain':
                '{"text": "x: int", "names": ["x"], "execution_count": 2}'
            }
          }
        }
      } as any)
    ).toEqual({ text: 'x: int', executionCount: 1 });
  });

  /** A reply whose user expression has this `data`. */
  const withData = (data: Record<string, unknown>) =>
    ({
      status: 'ok',
      execution_count: 3,
      user_expressions: { codegen: { status: 'ok', data } }
    }) as any;
  const json = { text: 'x: int', names: ['x'], execution_count: 4 };

  it('reads application/json first: a formatter colours text/plain (rich)', () => {
    expect(
      parseLiveReply(
        withData({
          'application/json': json,
          'text/plain': '\u001b[1m{\u001b[0m\u001b[32m"text"\u001b[0m: ...'
        })
      )
    ).toEqual({ text: 'x: int', executionCount: 3 });
  });

  it('prefers application/json to a text/plain that says otherwise', () => {
    expect(
      parseLiveReply(
        withData({
          'application/json': json,
          'text/plain': JSON.stringify({ ...json, text: 'other' })
        })
      )?.text
    ).toBe('x: int');
  });

  it.each([
    ['absent', undefined],
    ['without text', { names: [] }],
    ['with a text that is not a string', { text: 3 }],
    ['an array', [json]],
    ['null', null],
    ['text that is not JSON', '{text'],
    ['a number', 5]
  ])(
    'falls back to text/plain when application/json is %s, if it is JSON',
    (_name, value) => {
      const plain = JSON.stringify({ ...json, text: 'from text/plain' });
      const data: Record<string, unknown> = { 'text/plain': plain };
      if (value !== undefined) {
        data['application/json'] = value;
      }
      expect(parseLiveReply(withData(data))?.text).toBe('from text/plain');
      data['text/plain'] = '\u001b[1mcoloured\u001b[0m';
      expect(parseLiveReply(withData(data))).toBeNull();
    }
  );

  it('reads application/json sent as JSON text', () => {
    expect(
      parseLiveReply(withData({ 'application/json': JSON.stringify(json) }))
    ).toEqual({ text: 'x: int', executionCount: 3 });
  });

  it('clips the description to the server bound', () => {
    const long = { ...json, text: 'x'.repeat(MAX_NAMESPACE_CHARS + 10) };
    expect(
      parseLiveReply(withData({ 'application/json': long }))?.text
    ).toHaveLength(MAX_NAMESPACE_CHARS);
  });

  it.each([
    ['an error status', { status: 'error' }],
    ['no expression', { status: 'ok', user_expressions: {} }],
    [
      'not JSON',
      {
        status: 'ok',
        user_expressions: {
          codegen: { status: 'ok', data: { 'text/plain': "{'text': 1}" } }
        }
      }
    ],
    [
      'no text',
      {
        status: 'ok',
        user_expressions: {
          codegen: { status: 'ok', data: { 'text/plain': '{"names": []}' } }
        }
      }
    ]
  ])('gives null for %s', (_name, content) => {
    expect(parseLiveReply(content as any)).toBeNull();
  });
});

describe('liveExpression', () => {
  it('quotes any source as a string literal', () => {
    const source = 'print("a\\nb")\n# \'quotes\' ✓ 𝔘';
    const expression = liveExpression(source);
    const literal = expression.slice(
      expression.indexOf('live_context(') + 13,
      -1
    );
    expect(JSON.parse(literal)).toBe(source);
    expect(literal).not.toContain('\n');
  });
});

describe('liveSource', () => {
  const cells = [
    { cell_type: 'code', source: 'import pandas as pd' },
    { cell_type: 'markdown', source: '# Data' },
    { cell_type: 'code', source: 'df = pd.read_csv("a.csv")' },
    { cell_type: 'code', source: 'ACTIVE' },
    { cell_type: 'code', source: 'df.plot()' },
    { cell_type: 'code', source: '   ' }
  ];

  it('puts the active cell first, then code cells nearest first', () => {
    expect(liveSource('df["', cells, 3)).toBe(
      [
        'df["',
        'df = pd.read_csv("a.csv")',
        'df.plot()',
        'import pandas as pd'
      ].join('\n')
    );
  });

  it('stays within the bound', () => {
    const big = {
      cell_type: 'code',
      source: 'x'.repeat(MAX_LIVE_SOURCE_CHARS)
    };
    const source = liveSource(
      'y = 1',
      [big, { cell_type: 'code', source: '' }, cells[0]],
      1
    );
    expect(source.length).toBeLessThanOrEqual(MAX_LIVE_SOURCE_CHARS);
    expect(source).toBe('y = 1\nimport pandas as pd');
  });

  it('serves Generate: the active cell as it stands, whatever its type', () => {
    // Generate passes the active cell's own source; a markdown cell that
    // describes the code names the variables too. Other markdown cells and
    // blank code cells are left out.
    const notebook = [
      { cell_type: 'code', source: 'import pandas as pd' },
      { cell_type: 'code', source: 'df = pd.read_csv("s.csv")' },
      { cell_type: 'markdown', source: 'Plot `df` by region' },
      { cell_type: 'code', source: '   ' },
      { cell_type: 'markdown', source: '# Notes' },
      { cell_type: 'code', source: 'summary = df.describe()' }
    ];
    expect(liveSource(notebook[2].source, notebook, 2)).toBe(
      [
        'Plot `df` by region',
        'df = pd.read_csv("s.csv")',
        'import pandas as pd',
        'summary = df.describe()'
      ].join('\n')
    );
  });

  it('clips an active cell longer than the bound', () => {
    const long = 'z'.repeat(MAX_LIVE_SOURCE_CHARS + 5);
    const source = liveSource(long, [{ cell_type: 'code', source: long }], 0);
    expect(source).toBe(long.slice(0, MAX_LIVE_SOURCE_CHARS));
  });
});
