import {
  expect,
  galata,
  IJupyterLabPageFixture,
  test
} from '@jupyterlab/galata';
import { Page, Request } from '@playwright/test';

import { notebookWith, waitModelReady } from '../helpers';

/** The prefetch debounce (src/prefetchRules.ts) and a margin for a slow CPU. */
const DEBOUNCE_MS = 400;
const QUIET_MS = 2500;

function isPrefetch(request: Request): boolean {
  return (
    request.method() === 'POST' &&
    request.url().includes('/jupyter-codegen/prefetch')
  );
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

const CELLS = ['import os', 'x = 1', 'y = x + 1'];

/** A notebook with `CELLS` (and its kernel) settled, in command mode on the last cell. */
async function settledNotebook(
  page: IJupyterLabPageFixture,
  bodies: Record<string, any>[]
): Promise<void> {
  await notebookWith(page, CELLS);
  await page.keyboard.press('Escape');
  await expect
    .poll(() =>
      page.evaluate(
        () =>
          (window as any).jupyterapp.shell.currentWidget.sessionContext?.session
            ?.kernel?.status
      )
    )
    .toBe('idle');
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
});
