import { expect, galata, test } from '@jupyterlab/galata';
import { Page, Request } from '@playwright/test';

import { saveNotebook, waitModelReady, watchPosts } from '../helpers';
import {
  errorOutput,
  FIX_BUTTON,
  notebookOf,
  PROPOSAL,
  runCells
} from '../scripted/proposals';

// Short fixes: the tiny model's words do not matter here, its prompt cache does.
test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyter-codegen:plugin': { fixMaxTokens: 16 }
  }
});

const TYPO = ['values = [1, 2, 3]', 'result = sum(valuez)\nprint(result)'];

/** Every `POST /prefetch/fix` the page sends, as they come. */
const watchFixPrefetches = (page: Page): Request[] =>
  watchPosts(page, 'prefetch/fix');

test.describe('fix prefetch (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('a new error prefetches its fix, and the click on Fix reuses it', async ({
    page
  }) => {
    const prefetches = watchFixPrefetches(page);
    // Given a cell that fails
    await notebookOf(page, TYPO);
    await runCells(page, [0, 1]);
    // Then a fix prefetch goes out for its error, and is computed (sent again
    // if another prefetch held the model: the prefetcher retries)
    const computed = async () => {
      for (const sent of prefetches) {
        const answer = await sent.response();
        if (answer && (await answer.json()).prefetched) {
          return sent;
        }
      }
      return null;
    };
    await expect.poll(async () => (await computed()) !== null).toBe(true);
    const prefetch = (await computed())!;
    const reply = await (await prefetch.response())!.json();
    expect(reply.prefetched).toBe(true);
    expect(reply.timings.prompt_tokens).toBeGreaterThan(50);
    // When Fix is clicked
    const sent = page.waitForRequest(
      r => r.url().includes('/jupyter-codegen/fix') && r.method() === 'POST'
    );
    await (await errorOutput(page, 1)).locator(FIX_BUTTON).click();
    const fix = await sent;
    // Then it asks what was prefetched (the request id and streaming aside)
    const { request_id: prefetchId, ...prefetched } = prefetch.postDataJSON();
    const { request_id: fixId, stream, ...asked } = fix.postDataJSON();
    expect(prefetchId).toMatch(/^codegen-prefetch-fix-/);
    expect(fixId).toMatch(/^codegen-fix-/);
    expect(stream).toBe(true);
    expect(asked).toEqual(prefetched);
    expect(asked.error.ename).toBe('NameError');
    // And its prompt came from the cache, but for its last tokens
    const text = await (await fix.response())!.text();
    const done = /event: done\ndata: (.*)\n/.exec(text);
    expect(done).not.toBeNull();
    const timings = JSON.parse(done![1]).timings;
    expect(timings.prompt_tokens).toBe(reply.timings.prompt_tokens);
    expect(timings.cached_tokens).toBeGreaterThanOrEqual(
      reply.timings.prompt_tokens - 3
    );
    await expect(page.locator(PROPOSAL)).toHaveAttribute('data-state', 'done');
    // A cell that runs without an error prefetches nothing
    await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      panel.content.widgets[1].model.sharedModel.setSource('print(values)');
    });
    await runCells(page, [1]);
    await expect(page.locator(FIX_BUTTON)).toHaveCount(0);
    await page.waitForTimeout(1500);
    expect(prefetches).toHaveLength(1);
  });

  test('an error a notebook holds when it opens is not prefetched', async ({
    page,
    tmpPath
  }) => {
    const prefetches = watchFixPrefetches(page);
    // Given a saved notebook whose cell has an error output
    await saveNotebook(page, `${tmpPath}/saved-error.ipynb`, [
      {
        id: 'failing',
        execution_count: 1,
        source: 'sum(valuez)',
        outputs: [
          {
            output_type: 'error',
            ename: 'NameError',
            evalue: "name 'valuez' is not defined",
            traceback: ["NameError: name 'valuez' is not defined"]
          }
        ]
      }
    ]);
    // When it is opened
    await page.filebrowser.open(`${tmpPath}/saved-error.ipynb`);
    // Then its error has a Fix button, and no fix is prefetched for it
    await expect(page.locator(FIX_BUTTON)).toHaveCount(1);
    await page.waitForTimeout(2000);
    expect(prefetches).toHaveLength(0);
  });
});
