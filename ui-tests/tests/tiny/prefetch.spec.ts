import {
  expect,
  galata,
  IJupyterLabPageFixture,
  test
} from '@jupyterlab/galata';
import { Page, Request } from '@playwright/test';

import { isPost, notebookWith, waitModelReady } from '../helpers';

/** The prefetch debounce (src/prefetchRules.ts) and a margin for a slow CPU. */
const DEBOUNCE_MS = 400;
const QUIET_MS = 2500;

/** A completion's prefetch (not an explanation's: `prefetch/explain`). */
function isPrefetch(request: Request): boolean {
  return isPost(request, 'prefetch');
}

/** The bodies of the `POST /jupyter-codegen/prefetch` requests the page sends. */
function watchPrefetches(page: Page): Record<string, any>[] {
  const bodies: Record<string, any>[] = [];
  page.on('request', request => {
    if (isPrefetch(request)) {
      bodies.push(request.postDataJSON());
    }
  });
  return bodies;
}

/** The server's replies to them, with the request body they answer. */
function watchReplies(page: Page): Record<string, any>[] {
  const replies: Record<string, any>[] = [];
  page.on('response', async response => {
    if (isPrefetch(response.request())) {
      try {
        replies.push({
          body: response.request().postData(),
          status: response.status(),
          ...(await response.json())
        });
      } catch {
        // an aborted fetch has no body
      }
    }
  });
  return replies;
}

/** Wait until no new prefetch has been sent for `QUIET_MS`. */
async function settle(
  page: Page,
  bodies: Record<string, any>[]
): Promise<void> {
  let last = -1;
  await expect
    .poll(
      async () => {
        const same = bodies.length === last;
        last = bodies.length;
        return same;
      },
      { intervals: [QUIET_MS], timeout: 60_000 }
    )
    .toBeTruthy();
}

/** The current notebook's path. */
async function notebookPath(page: Page): Promise<string> {
  return page.evaluate(
    () => (window as any).jupyterapp.shell.currentWidget.context.path as string
  );
}

/** The index of the current notebook's active cell. */
async function activeCell(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as any).jupyterapp.shell.currentWidget.content
        .activeCellIndex as number
  );
}

/**
 * Type at the end of the active cell (in edit mode) and read the first
 * completion's prompt tokens and how many of them came from the prompt cache
 * (the timings of its streamed `done` event).
 */
async function firstCompletionTimings(
  page: Page,
  typed: string
): Promise<{ prompt_tokens: number; cached_tokens: number }> {
  const response = page.waitForResponse(
    r =>
      r.request().method() === 'POST' &&
      r.url().includes('/jupyter-codegen/complete'),
    { timeout: 30_000 }
  );
  await page.keyboard.press('Control+End');
  await page.keyboard.type(typed);
  const text = await (await response).text();
  const done = /event: done\ndata: (.*)\n/.exec(text);
  expect(done).not.toBeNull();
  return JSON.parse(done![1]).timings;
}

const CELLS = ['import os', 'x = 1', 'y = x + 1'];

/**
 * Open a notebook of `CELLS` with, before `x = 1`, a cell of random words
 * that no other test has. It is uploaded, not typed: typing would ask for
 * completions, which warm the prompt cache too. The server may reuse the
 * start of another document's prompt, but not this cell, which makes most of
 * the prompt for `x = 1`. The cell `x = 1`'s index.
 */
async function openUntypedNotebook(
  page: IJupyterLabPageFixture,
  path: string,
  first = CELLS[0]
): Promise<number> {
  const words = Array.from({ length: 16 }, () =>
    Math.random().toString(36).slice(2, 10)
  );
  const sources = [
    first,
    `words = ${JSON.stringify(words)}`,
    ...CELLS.slice(1)
  ];
  const notebook = {
    cells: sources.map(source => ({
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source
    })),
    metadata: {
      kernelspec: {
        display_name: 'Python 3 (ipykernel)',
        language: 'python',
        name: 'python3'
      },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
  await page.contents.uploadContent(JSON.stringify(notebook), 'text', path);
  await page.filebrowser.open(path);
  await kernelIdle(page);
  return sources.indexOf(CELLS[1]);
}

/** Wait until the current notebook's kernel is idle. */
async function kernelIdle(page: IJupyterLabPageFixture): Promise<void> {
  await expect
    .poll(() =>
      page.evaluate(
        () =>
          (window as any).jupyterapp.shell.currentWidget.sessionContext?.session
            ?.kernel?.status
      )
    )
    .toBe('idle');
}

/** A notebook with `cells` (and its kernel) settled, in command mode on the last cell. */
async function settledNotebook(
  page: IJupyterLabPageFixture,
  bodies: Record<string, any>[],
  cells: string[] = CELLS
): Promise<void> {
  await notebookWith(page, cells);
  await page.keyboard.press('Escape');
  await kernelIdle(page);
  await settle(page, bodies);
}

test.describe('prefetch (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('moving to another cell prefetches that cell with the notebook as context', async ({
    page
  }) => {
    const bodies = watchPrefetches(page);
    const replies = watchReplies(page);
    // Given a notebook of three code cells, quiet, the last one active
    await settledNotebook(page, bodies);
    const path = await notebookPath(page);
    const before = bodies.length;
    // When the user moves up to the middle cell
    await page.keyboard.press('ArrowUp');
    expect(await activeCell(page)).toBe(1);
    await settle(page, bodies);
    // Then one prefetch went out, for that cell, with the other cells around it
    const sent = bodies.slice(before);
    expect(sent).toHaveLength(1);
    const body = sent[0];
    expect(body.prefix + body.suffix).toBe(CELLS[1]);
    expect(body.cells_before).toEqual([
      { cell_type: 'code', source: CELLS[0] }
    ]);
    expect(body.cells_after).toEqual([{ cell_type: 'code', source: CELLS[2] }]);
    expect(body.path).toBe(path);
    expect(body.language).toBe('python');
    // with the document's fixed request id
    expect(body.request_id).toBe(`prefetch:${path}`);
    expect(body.n).toBe(1);
    // and the idle model computed it
    const answer = () =>
      replies.find(
        r => JSON.stringify(JSON.parse(r.body)) === JSON.stringify(body)
      );
    await expect.poll(() => !!answer()).toBe(true);
    const reply = answer()!;
    expect(reply.status).toBe(200);
    expect(reply.prefetched).toBe(true);
  });

  test('the first keystroke in a prefetched cell reuses what the prefetch computed', async ({
    page,
    tmpPath
  }) => {
    const bodies = watchPrefetches(page);
    const replies = watchReplies(page);
    // Given a notebook just opened (which prefetches its first cell)
    const index = await openUntypedNotebook(page, `${tmpPath}/reuse.ipynb`);
    await settle(page, bodies);
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies[0].prefix + bodies[0].suffix).toBe(CELLS[0]);
    // When the user clicks into the cell `x = 1`
    await page.notebook.enterCellEditingMode(index);
    await settle(page, bodies);
    // Then it is prefetched
    const body = bodies[bodies.length - 1];
    expect(body.prefix + body.suffix).toBe(CELLS[1]);
    await expect
      .poll(() => replies.some(r => r.body === JSON.stringify(body)))
      .toBe(true);
    const reply = replies.find(r => r.body === JSON.stringify(body))!;
    expect(reply.prefetched).toBe(true);
    const prefetched = reply.timings.prompt_tokens;
    // And the first keystroke there finds that prompt computed (but for the
    // last token or two, which the typed character may retokenize)
    const timings = await firstCompletionTimings(page, '0');
    expect(timings.prompt_tokens).toBeGreaterThan(prefetched);
    expect(prefetched).toBeGreaterThan(timings.prompt_tokens / 2);
    expect(timings.cached_tokens).toBeGreaterThanOrEqual(prefetched - 2);
  });

  test('a notebook just opened is prefetched while its kernel starts, once', async ({
    page,
    tmpPath
  }) => {
    const bodies = watchPrefetches(page);
    const replies = watchReplies(page);
    // (what the notebook's kernel was doing as each prefetch went out)
    await page.evaluate(() => {
      const w = window as any;
      const send = w.fetch;
      w.prefetchKernels = [];
      w.fetch = (input: any, init?: RequestInit) => {
        // (w.Request: this file imports Playwright's `Request`)
        const url = input instanceof w.Request ? input.url : String(input);
        if (
          new URL(url, w.location.href).pathname.endsWith(
            '/jupyter-codegen/prefetch'
          )
        ) {
          const widget = w.jupyterapp.shell.currentWidget;
          const session = widget && widget.sessionContext;
          const kernel = session && session.session && session.session.kernel;
          w.prefetchKernels.push(
            !session || !session.isReady
              ? 'no session yet'
              : kernel
                ? kernel.status
                : 'no kernel'
          );
        }
        return send(input, init);
      };
    });
    // When the user opens a notebook, which starts a kernel
    await openUntypedNotebook(page, `${tmpPath}/opened.ipynb`);
    await settle(page, bodies);
    // Then its first cell was prefetched before the kernel was idle, with no
    // live variables (a new kernel has none of the notebook's names), and not
    // again once the kernel was idle: the prompt had not changed
    const kernels = await page.evaluate(() => (window as any).prefetchKernels);
    expect(kernels).toHaveLength(1);
    expect(kernels[0]).not.toBe('idle');
    expect(bodies).toHaveLength(1);
    expect(bodies[0].prefix + bodies[0].suffix).toBe(CELLS[0]);
    expect(bodies[0].namespace ?? '').toBe('');
    await expect.poll(() => replies.length).toBe(1);
    expect(replies[0].prefetched).toBe(true);
    // And the first keystroke, with the kernel idle, sends the same prompt
    // and finds it computed
    const complete = page.waitForRequest(r =>
      r.url().includes('/jupyter-codegen/complete')
    );
    await page.notebook.enterCellEditingMode(0);
    const timings = await firstCompletionTimings(page, '0');
    expect((await complete).postDataJSON().namespace ?? '').toBe('');
    expect(timings.cached_tokens).toBeGreaterThanOrEqual(
      replies[0].timings.prompt_tokens - 2
    );
  });

  test('after cells run, the prefetch waits for the kernel and carries its live variables', async ({
    page,
    tmpPath
  }) => {
    const bodies = watchPrefetches(page);
    const replies = watchReplies(page);
    // Given a notebook whose first cell takes a while to run
    const slow = 'import time\ntime.sleep(3)\nimport os';
    const index = await openUntypedNotebook(
      page,
      `${tmpPath}/live.ipynb`,
      slow
    );
    await settle(page, bodies);
    await page.notebook.enterCellEditingMode(0);
    const before = bodies.length;
    // When the user runs it and the next cell (Shift+Enter twice), which
    // leaves the cell `x = 1` active while the kernel is still busy
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.press('Shift+Enter');
    expect(await activeCell(page)).toBe(index);
    await page.waitForTimeout(3 * DEBOUNCE_MS);
    // Then nothing is prefetched while the kernel runs them
    expect(bodies.length).toBe(before);
    // and once it is idle, that cell is, with the variables they defined
    await expect
      .poll(() => bodies.length, { timeout: 30_000 })
      .toBe(before + 1);
    await settle(page, bodies);
    expect(bodies.length).toBe(before + 1);
    const body = bodies[before];
    expect(body.prefix + body.suffix).toBe(CELLS[1]);
    expect(body.namespace).toContain('words');
    await expect
      .poll(() => replies.some(r => r.body === JSON.stringify(body)))
      .toBe(true);
    const reply = replies.find(r => r.body === JSON.stringify(body))!;
    expect(reply.prefetched).toBe(true);
    // And the first keystroke there sends the same namespace, and finds the
    // prompt computed
    const complete = page.waitForRequest(r =>
      r.url().includes('/jupyter-codegen/complete')
    );
    await page.keyboard.press('Enter');
    const timings = await firstCompletionTimings(page, '0');
    expect((await complete).postDataJSON().namespace).toBe(body.namespace);
    expect(timings.cached_tokens).toBeGreaterThanOrEqual(
      reply.timings.prompt_tokens - 2
    );
  });

  test('once a cell is prefetched, so is its explanation, which Explain Code then reuses', async ({
    page,
    tmpPath
  }) => {
    const bodies = watchPrefetches(page);
    const replies: Record<string, any>[] = [];
    page.on('response', async response => {
      if (isPost(response.request(), 'prefetch/explain')) {
        replies.push({
          body: response.request().postDataJSON(),
          ...(await response.json())
        });
      }
    });
    // Given a notebook just opened, its first cell prefetched
    const index = await openUntypedNotebook(page, `${tmpPath}/explain.ipynb`);
    await settle(page, bodies);
    // When the user moves to the cell `x = 1`
    await page.notebook.selectCells(index);
    await settle(page, bodies);
    // Then after its completion's prompt, its explanation's was computed:
    // the body Explain Code sends for it, under the document's request id
    const ofCell = () => replies.find(r => r.body.code === CELLS[1]);
    await expect.poll(() => ofCell() !== undefined).toBe(true);
    const { body, ...reply } = ofCell()!;
    const completion = bodies[bodies.length - 1];
    expect(completion.prefix + completion.suffix).toBe(CELLS[1]);
    expect(body.cells_before.map((c: any) => c.source)).toEqual(
      completion.cells_before.map((c: any) => c.source)
    );
    expect(body.request_id).toBe(completion.request_id);
    expect(reply.prefetched).toBe(true);
    // And Explain Code finds that prompt computed
    const explained = page.waitForResponse(r => isPost(r.request(), 'explain'));
    await page.keyboard.press('Control+Shift+Y');
    const done = /event: done\ndata: (.*)\n/.exec(
      await (await explained).text()
    );
    expect(done).not.toBeNull();
    const timings = JSON.parse(done![1]).timings;
    expect(timings.prompt_tokens).toBe(reply.timings.prompt_tokens);
    expect(timings.cached_tokens).toBeGreaterThanOrEqual(
      reply.timings.prompt_tokens - 3
    );
  });

  test('a quick second move supersedes the first: one prefetch, for the last cell', async ({
    page
  }) => {
    const bodies = watchPrefetches(page);
    await settledNotebook(page, bodies);
    const before = bodies.length;
    // When the user moves up twice, within the debounce but long enough
    // apart for an undebounced prefetch of the first cell to go out
    const started = Date.now();
    await page.keyboard.press('ArrowUp');
    await page.waitForTimeout(DEBOUNCE_MS / 2);
    await page.keyboard.press('ArrowUp');
    expect(Date.now() - started).toBeLessThan(DEBOUNCE_MS);
    expect(await activeCell(page)).toBe(0);
    await settle(page, bodies);
    // Then only the cell the user stopped on was prefetched
    const sent = bodies.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].prefix + sent[0].suffix).toBe(CELLS[0]);
    expect(sent[0].cells_before).toEqual([]);
    expect(sent[0].cells_after.map((c: any) => c.source)).toEqual(
      CELLS.slice(1)
    );
  });

  test('a markdown cell is not prefetched', async ({ page }) => {
    const bodies = watchPrefetches(page);
    await settledNotebook(page, bodies);
    // Given the middle cell turned into markdown
    await page.keyboard.press('ArrowUp');
    await settle(page, bodies);
    await page.keyboard.press('m');
    await settle(page, bodies);
    let before = bodies.length;
    // When the user moves to the first cell, a code cell: one prefetch
    await page.keyboard.press('ArrowUp');
    await settle(page, bodies);
    expect(bodies.slice(before)).toHaveLength(1);
    expect(bodies[bodies.length - 1].cells_after[0]).toEqual({
      cell_type: 'markdown',
      source: CELLS[1]
    });
    // and back down to the markdown cell: none
    before = bodies.length;
    await page.keyboard.press('ArrowDown');
    expect(await activeCell(page)).toBe(1);
    await settle(page, bodies);
    expect(bodies.length).toBe(before);
  });

  test('coming back to a notebook whose prompt was prefetched last sends nothing', async ({
    page
  }) => {
    const bodies = watchPrefetches(page);
    await settledNotebook(page, bodies);
    const name = (await notebookPath(page)).split('/').pop()!;
    await page.keyboard.press('ArrowUp');
    await settle(page, bodies);
    const before = bodies.length;
    expect(bodies[before - 1].prefix + bodies[before - 1].suffix).toBe(
      CELLS[1]
    );
    // When the user opens a launcher, then comes back to the notebook
    await page.menu.clickMenuItem('File>New Launcher');
    await settle(page, bodies);
    await page.activity.activateTab(name);
    await expect.poll(() => notebookPath(page)).toContain(name);
    await settle(page, bodies);
    // Then nothing new is sent: the same cell's prompt is already warm
    expect(bodies.length).toBe(before);
  });
});

test.describe('prefetch in a file editor (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('opening a file prefetches its text', async ({ page, tmpPath }) => {
    const bodies = watchPrefetches(page);
    // When the user opens a Python file
    const path = `${tmpPath}/script.py`;
    await page.contents.uploadContent('import os\n', 'text', path);
    await page.filebrowser.open(path);
    // Then one prefetch goes out for it, with its text and no cells
    await expect.poll(() => bodies.length).toBeGreaterThan(0);
    await settle(page, bodies);
    expect(bodies).toHaveLength(1);
    expect(bodies[0].prefix + bodies[0].suffix).toBe('import os\n');
    expect(bodies[0].path).toBe(path);
    expect(bodies[0].request_id).toBe(`prefetch:${path}`);
    expect(bodies[0].language).toBe('python');
    expect(bodies[0].cells_before).toBeUndefined();
  });
});

test.describe('prefetch turned off (tiny model)', () => {
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-codegen:plugin': { prefetch: false }
    }
  });

  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('with the setting off, opening a notebook and moving between cells sends no prefetch', async ({
    page
  }) => {
    const bodies = watchPrefetches(page);
    await settledNotebook(page, bodies);
    await page.keyboard.press('ArrowUp');
    await page.waitForTimeout(QUIET_MS);
    await page.keyboard.press('ArrowUp');
    await page.waitForTimeout(QUIET_MS);
    expect(await activeCell(page)).toBe(0);
    expect(bodies).toEqual([]);
  });

  test('without a prefetch, the first keystroke in a cell computes most of its prompt', async ({
    page,
    tmpPath
  }) => {
    const bodies = watchPrefetches(page);
    const index = await openUntypedNotebook(page, `${tmpPath}/cold.ipynb`);
    await page.notebook.enterCellEditingMode(index);
    await page.waitForTimeout(QUIET_MS);
    const timings = await firstCompletionTimings(page, '0');
    expect(bodies).toEqual([]);
    // (what it shares with other documents' prompts is at most their start)
    expect(timings.cached_tokens).toBeLessThan(timings.prompt_tokens / 2);
  });
});
