import {
  EXPLAIN_PREFETCH_MAX_CHARS,
  ExplainMemory,
  explainPrefetchBody,
  refusedForGood
} from '../explainPrefetch';

const CELL = { code: 'x = 1', cells_before: [], language: 'python' };
const HERE = { inNotebook: true, kernelAtRest: true };

describe('explainPrefetchBody', () => {
  it('is what Explain Code sends, under the prefetch request id', () => {
    expect(
      JSON.parse(explainPrefetchBody(CELL, 'prefetch:a.ipynb', HERE)!)
    ).toEqual({
      ...CELL,
      request_id: 'prefetch:a.ipynb'
    });
  });

  it.each([
    ['nothing to explain', null, HERE],
    ['a file editor', CELL, { ...HERE, inNotebook: false }],
    [
      'a kernel that runs a cell or starts',
      CELL,
      { ...HERE, kernelAtRest: false }
    ],
    [
      'code over the limit',
      { ...CELL, code: 'x'.repeat(EXPLAIN_PREFETCH_MAX_CHARS + 1) },
      HERE
    ]
  ])('is null for %s', (_, request, where) => {
    expect(explainPrefetchBody(request, 'id', where)).toBeNull();
  });

  it('takes code up to the limit', () => {
    const code = 'x'.repeat(EXPLAIN_PREFETCH_MAX_CHARS);
    expect(explainPrefetchBody({ ...CELL, code }, 'id', HERE)).not.toBeNull();
  });
});

describe('ExplainMemory', () => {
  it('remembers the newest bodies, and forgets one on request', () => {
    const memory = new ExplainMemory(2);
    memory.add('a');
    memory.add('b');
    expect(memory.has('a') && memory.has('b')).toBe(true);
    memory.add('a'); // a is the newest again
    memory.add('c'); // b drops out
    expect([memory.has('a'), memory.has('b'), memory.has('c')]).toEqual([
      true,
      false,
      true
    ]);
    memory.forget('a');
    expect(memory.has('a')).toBe(false);
  });
});

describe('refusedForGood', () => {
  it('is true for a 4xx only', () => {
    expect([400, 413, 499].map(refusedForGood)).toEqual([true, true, true]);
    expect([null, undefined, 500, 503, 200].map(refusedForGood)).toEqual([
      false,
      false,
      false,
      false,
      false
    ]);
  });
});
