import {
  buildEditRequest,
  MAX_INSTRUCTION_CHARS,
  minimalChange,
  normalSelection,
  oneLine,
  replaceSelection
} from '../editText';
import type { ICell } from '../wire.generated';

/** Apply a change to `text`. */
function applied(
  text: string,
  change: { start: number; end: number; insert: string } | null
): string {
  return change
    ? text.slice(0, change.start) + change.insert + text.slice(change.end)
    : text;
}

describe('minimalChange', () => {
  it.each([
    ['result = sum(valuez)', 'result = sum(values)', 18, 19, 's'],
    ['a\nb\nc', 'a\nB\nc', 2, 3, 'B'],
    [
      'total = 0\nfor x in xs:\n    total += x',
      'total = sum(xs)',
      8,
      37,
      'sum(xs)'
    ],
    ['abc', 'abXYc', 2, 2, 'XY'],
    ['abc', '', 0, 3, ''],
    ['', 'new', 0, 0, 'new'],
    ['aaa', 'aa', 2, 3, '']
  ])('%j -> %j', (before, after, start, end, insert) => {
    const change = minimalChange(before, after);
    expect(change).toEqual({ start, end, insert });
    expect(applied(before, change)).toBe(after);
  });

  it('is null when nothing changes', () => {
    expect(minimalChange('same', 'same')).toBeNull();
  });

  it('does not split a surrogate pair', () => {
    const before = 'x = "\u{1F600}"';
    const after = 'x = "\u{1F601}"';
    const change = minimalChange(before, after)!;
    expect(change.insert).toBe('\u{1F601}');
    expect(applied(before, change)).toBe(after);
  });
});

describe('normalSelection', () => {
  it('orders the ends and keeps them in the cell', () => {
    expect(normalSelection('abcdef', { start: 4, end: 1 })).toEqual({
      start: 1,
      end: 4
    });
    expect(normalSelection('abc', { start: 1, end: 99 })).toEqual({
      start: 1,
      end: 3
    });
  });

  it('is null for an empty selection or none', () => {
    expect(normalSelection('abc', { start: 2, end: 2 })).toBeNull();
    expect(normalSelection('abc', null)).toBeNull();
  });
});

describe('replaceSelection', () => {
  it('replaces the selection, or the whole cell without one', () => {
    expect(
      replaceSelection('a = 1\nb = 2', { start: 6, end: 11 }, 'b = 3')
    ).toBe('a = 1\nb = 3');
    expect(replaceSelection('a = 1', null, 'a = 2')).toBe('a = 2');
  });
});

describe('buildEditRequest', () => {
  const cells: ICell[] = [
    { cell_type: 'code', source: 'import numpy as np' },
    { cell_type: 'markdown', source: '# Loop' },
    { cell_type: 'code', source: 'for x in xs:\n    total += x' },
    { cell_type: 'code', source: 'print(total)' }
  ];

  it('sends the cell, the selection, the instruction and the cells around it', () => {
    expect(
      buildEditRequest({
        cells,
        active: 2,
        cell: cells[2].source,
        selection: { start: 13, end: 4 },
        instruction: '  vectorize this loop ',
        language: 'Python3',
        path: 'a.ipynb',
        namespace: 'xs: list',
        maxTokens: 200
      })
    ).toEqual({
      cell: cells[2].source,
      selection: { start: 4, end: 13 },
      instruction: 'vectorize this loop',
      cells_before: cells.slice(0, 2),
      cells_after: cells.slice(3),
      language: 'python',
      namespace: 'xs: list',
      path: 'a.ipynb',
      max_tokens: 200
    });
  });

  it('sends a null selection for none, and bounds the instruction', () => {
    const request = buildEditRequest({
      cells,
      active: 0,
      cell: cells[0].source,
      selection: { start: 3, end: 3 },
      instruction: 'x'.repeat(MAX_INSTRUCTION_CHARS + 5)
    });
    expect(request.selection).toBeNull();
    expect(request.instruction).toHaveLength(MAX_INSTRUCTION_CHARS);
    expect(request.cells_before).toEqual([]);
    expect(request.language).toBe('python');
    expect(request).not.toHaveProperty('path');
  });
});

describe('oneLine', () => {
  it('folds whitespace and shortens', () => {
    expect(oneLine('  add\n  type hints ')).toBe('add type hints');
    expect(oneLine('x'.repeat(100), 10)).toBe('xxxxxxxxx…');
  });
});
