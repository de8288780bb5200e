import {
  buildGenerateRequest,
  codeOfReply,
  commentText,
  descriptionAt,
  insertionPoint,
  MAX_DESCRIPTION_CHARS
} from '../generateText';
import {
  conversationHistory,
  MAX_HISTORY_TURNS,
  MAX_TURN_CHARS
} from '../request';
import { MAX_QUESTION_CHARS } from '../wire.generated';
import type { ICellContext } from '../types';

/** `text` with `|` marking the cursor: [text, offset]. */
function at(marked: string): [string, number] {
  const offset = marked.indexOf('|');
  return [marked.slice(0, offset) + marked.slice(offset + 1), offset];
}

describe('commentText', () => {
  it.each([
    ['# load the data', 'load the data'],
    ['   ## plot it  ', 'plot it'],
    ['// sort users', 'sort users'],
    ['-- count rows', 'count rows'],
    ['#', ''],
    ['#!/usr/bin/env python', null],
    ['x = 1  # not a comment line', null],
    ['', null]
  ])('%j -> %j', (line, expected) => {
    expect(commentText(line)).toBe(expected);
  });
});

describe('descriptionAt', () => {
  it.each([
    // The comment at the cursor, with the comment lines next to it
    ['import pandas as pd\n# load sales.csv|\n', 'load sales.csv'],
    ['x = 1\n# plot the\n# histogram| of x\ny = 2', 'plot the histogram of x'],
    // Else the comment that ends the cell, blank lines after it ignored
    ['|df = load()\n# mean price per region\n\n', 'mean price per region'],
    // A comment that does not end the cell is not a description
    ['# setup\nimport os|', ''],
    ['x = 1|', ''],
    ['|', '']
  ])('%j -> %j', (marked, expected) => {
    const [text, offset] = at(marked);
    expect(descriptionAt(text, offset)).toBe(expected);
  });

  it('is bounded as the server bounds an instruction', () => {
    expect(MAX_DESCRIPTION_CHARS).toBe(MAX_QUESTION_CHARS);
    const text = '# ' + 'w'.repeat(2 * MAX_DESCRIPTION_CHARS);
    expect(descriptionAt(text, text.length)).toHaveLength(
      MAX_DESCRIPTION_CHARS
    );
  });
});

describe('insertionPoint', () => {
  it.each([
    // After the comment block at the cursor, on a new line
    [
      'x = 1\n# plot| x\n# nicely\ny = 2',
      'x = 1\n# plot x\n# nicely'.length,
      '\n'
    ],
    // At the start of a blank cursor line
    ['x = 1\n|\ny = 2', 'x = 1\n'.length, ''],
    ['|', 0, ''],
    // After the cursor's line otherwise
    ['x = 1|  \ny = 2', 'x = 1  '.length, '\n']
  ])('%j -> %j %j', (marked, offset, lead) => {
    const [text, cursor] = at(marked);
    expect(insertionPoint(text, cursor)).toEqual({ offset, lead });
  });
});

const cells: ICellContext[] = [
  { cell_type: 'markdown', source: '# Sales' },
  { cell_type: 'code', source: 'import pandas as pd' },
  { cell_type: 'code', source: 'df = pd.read_csv("s.csv")\n# mean per region' },
  { cell_type: 'code', source: 'print(df)' },
  { cell_type: 'code', source: '   ' }
];

describe('buildGenerateRequest', () => {
  it('sends the description, the cells down to the active one, the kernel state', () => {
    const req = buildGenerateRequest({
      description: '  mean per region ',
      cells,
      active: 2,
      into: 'newCell',
      language: 'python3',
      namespace: 'df: DataFrame',
      maxTokens: 200,
      requestId: 'codegen-generate-1'
    });
    expect(req).toEqual({
      instruction: 'mean per region',
      cells_before: cells.slice(0, 3),
      language: 'python',
      namespace: 'df: DataFrame',
      max_tokens: 200,
      stream: true,
      request_id: 'codegen-generate-1'
    });
  });

  it('at the cursor, sends the active cell up to the insertion point', () => {
    const req = buildGenerateRequest({
      description: 'x',
      cells,
      active: 2,
      into: 'cursor',
      before: 'df = pd.read_csv("s.csv")',
      requestId: 'r'
    });
    expect(req.cells_before).toEqual([
      ...cells.slice(0, 2),
      { cell_type: 'code', source: 'df = pd.read_csv("s.csv")' }
    ]);
    expect(req.namespace).toBeUndefined();
    expect(req.max_tokens).toBeUndefined();
    // Blank cells are no context
    const empty = buildGenerateRequest({
      description: 'x',
      cells,
      active: 4,
      into: 'cursor',
      before: '',
      requestId: 'r'
    });
    expect(empty.cells_before).toEqual(cells.slice(0, 4));
  });
});

describe('codeOfReply', () => {
  it.each([
    ['', ''],
    ['`', ''],
    ['``', ''],
    ['```', ''],
    ['```pyth', ''],
    ['```python\n', ''],
    ['```python\nimport os\npri', 'import os\npri'],
    ['```python\nimport os\n`', 'import os'],
    ['```python\nimport os\n```\nThat imports os.', 'import os'],
    ['Here you go:\n```\nx = 1\n```', 'x = 1'],
    // Without a fence, the reply itself (as the server's extract_code)
    ['x = 1\ny = 2\n', 'x = 1\ny = 2'],
    ['\n\nx = 1', 'x = 1']
  ])('%j -> %j', (text, expected) => {
    expect(codeOfReply(text)).toBe(expected);
  });

  it('grows as the reply streams', () => {
    const reply = '```python\nfor i in range(3):\n    print(i)\n```\n';
    let last = '';
    for (let n = 1; n <= reply.length; n++) {
      const code = codeOfReply(reply.slice(0, n));
      expect('for i in range(3):\n    print(i)'.startsWith(code)).toBe(true);
      expect(code.length).toBeGreaterThanOrEqual(last.length);
      last = code;
    }
    expect(last).toBe('for i in range(3):\n    print(i)');
  });
});

describe('conversationHistory', () => {
  it('turns exchanges into user and assistant turns, oldest first', () => {
    expect(
      conversationHistory([
        { answer: 'It adds.' },
        { question: 'why?', answer: 'Because.' }
      ])
    ).toEqual([
      { role: 'user', content: '' },
      { role: 'assistant', content: 'It adds.' },
      { role: 'user', content: 'why?' },
      { role: 'assistant', content: 'Because.' }
    ]);
  });

  it('keeps the newest exchanges within the bounds', () => {
    const exchanges = Array.from({ length: 15 }, (_, i) => ({
      question: `q${i}`,
      answer: 'a'.repeat(MAX_TURN_CHARS + 10)
    }));
    const turns = conversationHistory(exchanges);
    expect(turns).toHaveLength(MAX_HISTORY_TURNS);
    expect(turns[0]).toEqual({ role: 'user', content: 'q5' });
    expect(turns.every(t => t.content.length <= MAX_TURN_CHARS)).toBe(true);
  });
});
