import {
  buildFixRequest,
  editTarget,
  failingLines,
  fixLiveSource,
  kernelError,
  stripAnsi
} from '../fixText';
import { MAX_CONTEXT_CHARS } from '../request';
import type { ICell } from '../wire.generated';
import {
  MAX_ENAME_CHARS,
  MAX_EVALUE_CHARS,
  MAX_FRAME_CHARS,
  MAX_TRACEBACK_FRAMES
} from '../wire.generated';

/** An IPython 9 traceback, as the kernel sends it (colours included). */
const TRACEBACK = [
  '\u001b[91m---------------------------------------------------------------------------\u001b[39m',
  '\u001b[91mKeyError\u001b[39m                                  Traceback (most recent call last)',
  '\u001b[96mCell\u001b[39m\u001b[96m \u001b[39m\u001b[32mIn[2]\u001b[39m\u001b[32m, line 2\u001b[39m\n\u001b[92m      1\u001b[39m \u001b[38;5;255morders\u001b[39m = {}\n\u001b[92m----> \u001b[39m\u001b[92m2\u001b[39m \u001b[30;43mrevenue\u001b[39;49m\u001b[30;43m(\u001b[39;49m\u001b[30;43morders\u001b[39;49m\u001b[30;43m)\u001b[39;49m\n',
  "\u001b[96mCell\u001b[39m\u001b[96m \u001b[39m\u001b[32mIn[1]\u001b[39m\u001b[32m, line 2\u001b[39m, in \u001b[36mrevenue\u001b[39m\u001b[94m(df)\u001b[39m\n\u001b[92m      1\u001b[39m \u001b[38;5;81mdef\u001b[39m revenue(df):\n\u001b[92m----> \u001b[39m\u001b[92m2\u001b[39m \u001b[38;5;255m    \u001b[39m\u001b[38;5;81mreturn\u001b[39m df[\u001b[38;5;186m'price'\u001b[39m]\n",
  "\u001b[91mKeyError\u001b[39m: 'price'"
];

const code = (source: string): ICell => ({ cell_type: 'code', source });

describe('stripAnsi', () => {
  it('removes colour codes and keeps the text', () => {
    expect(
      stripAnsi('\u001b[38;5;255mdf\u001b[39m[\u001b[30;43mx\u001b[39;49m]')
    ).toBe('df[x]');
    expect(stripAnsi('plain')).toBe('plain');
  });
});

describe('kernelError', () => {
  it('reads an error output exactly as the kernel sent it', () => {
    expect(
      kernelError({
        output_type: 'error',
        ename: 'KeyError',
        evalue: "'price'",
        traceback: TRACEBACK
      })
    ).toEqual({ ename: 'KeyError', evalue: "'price'", traceback: TRACEBACK });
  });

  it('is null for other outputs', () => {
    expect(kernelError({ output_type: 'stream' })).toBeNull();
    expect(kernelError(null)).toBeNull();
  });

  it('keeps within the server bounds, the innermost frames first', () => {
    const frames = Array.from(
      { length: MAX_TRACEBACK_FRAMES + 5 },
      (_, i) => `frame ${i}`
    );
    frames[frames.length - 1] = 'x'.repeat(MAX_FRAME_CHARS + 10);
    const error = kernelError({
      output_type: 'error',
      ename: 'E'.repeat(MAX_ENAME_CHARS + 1),
      evalue: 'v'.repeat(MAX_EVALUE_CHARS + 1),
      traceback: frames
    })!;
    expect(error.ename).toHaveLength(MAX_ENAME_CHARS);
    expect(error.evalue).toHaveLength(MAX_EVALUE_CHARS);
    expect(error.traceback).toHaveLength(MAX_TRACEBACK_FRAMES);
    expect(error.traceback![0]).toBe('frame 5');
    expect(error.traceback![MAX_TRACEBACK_FRAMES - 1]).toHaveLength(
      MAX_FRAME_CHARS
    );
  });
});

describe('failingLines', () => {
  it("reads IPython's ----> lines, outermost first", () => {
    expect(failingLines(TRACEBACK)).toEqual([
      'revenue(orders)',
      "return df['price']"
    ]);
  });

  it('reads the line under each File line of a plain traceback', () => {
    expect(
      failingLines([
        'Traceback (most recent call last):\n  File "a.py", line 3, in <module>\n    main()\n  File "a.py", line 2, in main\n    1 / 0\nZeroDivisionError: division by zero'
      ])
    ).toEqual(['main()', '1 / 0']);
  });

  it('is empty without frames', () => {
    expect(failingLines(["\u001b[91mKeyError\u001b[39m: 'price'"])).toEqual([]);
  });
});

describe('fixLiveSource', () => {
  it('puts the failing lines first, then the cell and the others', () => {
    const cells = [code('import pandas as pd'), code('revenue(orders)')];
    const error = { ename: 'KeyError', evalue: '', traceback: TRACEBACK };
    const source = fixLiveSource(error, cells, 1);
    expect(source.split('\n')).toEqual([
      'revenue(orders)',
      "return df['price']",
      'revenue(orders)',
      'import pandas as pd'
    ]);
  });
});

describe('buildFixRequest', () => {
  const error = { ename: 'NameError', evalue: 'x', traceback: [] };

  it('sends every cell in order, markdown and raw included', () => {
    const cells: ICell[] = [
      code('a = 1'),
      { cell_type: 'markdown', source: '# Title' },
      { cell_type: 'raw', source: 'raw' },
      code('print(b)'),
      code('after')
    ];
    const { request, offset } = buildFixRequest({
      cells,
      active: 3,
      error,
      language: 'python3',
      namespace: 'a: int',
      maxTokens: 300
    });
    expect(offset).toBe(0);
    expect(request).toEqual({
      cells_before: cells.slice(0, 3),
      cell: 'print(b)',
      cells_after: [code('after')],
      error,
      namespace: 'a: int',
      language: 'python',
      max_tokens: 300
    });
  });

  it('cuts a huge notebook at the top, and says where it starts', () => {
    const big = 'x'.repeat(MAX_CONTEXT_CHARS / 2);
    const cells = [code(big), code(big), code(big), code('fail()')];
    const body = buildFixRequest({ cells, active: 3, error });
    expect(body.offset).toBe(1);
    expect(body.request.cells_before).toEqual([code(big), code(big)]);
    // An edit of the reply's cell 0 is the notebook's cell 1
    expect(editTarget({ cell: 0 }, body, 3)).toBe(1);
    expect(editTarget({ cell: 1 }, body, 3)).toBe(2);
  });
});

describe('editTarget', () => {
  const body = buildFixRequest({
    cells: [code('a'), code('b'), code('c')],
    active: 2,
    error: { ename: 'E', evalue: '', traceback: [] }
  });

  it('maps "active" and indices into cells_before to notebook indices', () => {
    expect(editTarget({ cell: 'active' }, body, 2)).toBe(2);
    expect(editTarget({ cell: 0 }, body, 2)).toBe(0);
    expect(editTarget({ cell: 1 }, body, 2)).toBe(1);
  });

  it('is null for an index of no cell sent', () => {
    expect(editTarget({ cell: 2 }, body, 2)).toBeNull();
    expect(editTarget({ cell: -1 }, body, 2)).toBeNull();
    expect(editTarget({ cell: 0.5 }, body, 2)).toBeNull();
  });
});
