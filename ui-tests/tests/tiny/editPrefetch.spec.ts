import { expect, galata, test } from '@jupyterlab/galata';

import { isPost, waitModelReady, watchPosts } from '../helpers';
import { focusEditor, notebookOf } from '../scripted/proposals';

// Short edits: the tiny model's words do not matter here, its prompt cache
// does. No ghost text, so that no completion prefetch holds the model.
test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyter-codegen:plugin': { editMaxTokens: 16, enabled: false }
  }
});

const CELLS = [
  'import math\nRADII = [1.0, 2.5, 4.0]',
  'def area(r):\n    """The area of a circle of radius r."""\n    return math.pi * r ** 2',
  'total = 0\nfor r in RADII:\n    total += area(r)\nprint(total)'
];

test.describe('edit prefetch (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('the instruction dialog prefetches the edit, and the edit reuses it', async ({
    page
  }) => {
    const prefetches = watchPosts(page, 'prefetch/edit');
    await notebookOf(page, CELLS);
    await focusEditor(page, 2);
    // When the dialog that asks for the instruction opens
    await page.keyboard.press('Control+k');
    const input = page.locator('.jp-Dialog input');
    await expect(input).toBeVisible();
    // Then, while it is open, the edit is prefetched without an instruction
    await expect.poll(() => prefetches.length).toBe(1);
    const reply = await (await prefetches[0].response())!.json();
    expect(reply.prefetched).toBe(true);
    expect(reply.timings.prompt_tokens).toBeGreaterThan(50);
    // When the instruction is given
    const sent = page.waitForRequest(r => isPost(r, 'edit'));
    await input.fill('use sum()');
    await page.keyboard.press('Enter');
    const edit = await sent;
    // Then the edit is the prefetched request with its instruction
    const {
      request_id: prefetchId,
      instruction: none,
      ...prefetched
    } = prefetches[0].postDataJSON();
    const {
      request_id: editId,
      stream,
      instruction,
      ...asked
    } = edit.postDataJSON();
    expect(prefetchId).toMatch(/^codegen-prefetch-edit-/);
    expect(editId).toMatch(/^codegen-edit-/);
    expect(stream).toBe(true);
    expect(none).toBe('');
    expect(instruction).toBe('use sum()');
    expect(asked).toEqual(prefetched);
    expect(asked.cells_before).toHaveLength(2);
    // And its prompt came from the cache up to the instruction
    const text = await (await edit.response())!.text();
    const done = /event: done\ndata: (.*)\n/.exec(text);
    expect(done).not.toBeNull();
    const timings = JSON.parse(done![1]).timings;
    expect(timings.cached_tokens).toBeGreaterThan(
      reply.timings.prompt_tokens - 40
    );
    expect(timings.prompt_tokens - timings.cached_tokens).toBeLessThan(40);
    expect(prefetches).toHaveLength(1);
  });
});

test.describe('edit prefetch turned off (tiny model)', () => {
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-codegen:plugin': {
        editMaxTokens: 16,
        enabled: false,
        prefetch: false
      }
    }
  });

  test('with the prefetch setting off, the dialog prefetches nothing', async ({
    page,
    request,
    baseURL
  }) => {
    await waitModelReady(request, baseURL!);
    const prefetches = watchPosts(page, 'prefetch/edit');
    await notebookOf(page, CELLS);
    await focusEditor(page, 2);
    const sent = page.waitForRequest(r => isPost(r, 'edit'));
    await page.keyboard.press('Control+k');
    const input = page.locator('.jp-Dialog input');
    await expect(input).toBeVisible();
    await page.waitForTimeout(1000);
    await input.fill('use sum()');
    await page.keyboard.press('Enter');
    expect((await sent).postDataJSON().instruction).toBe('use sum()');
    expect(prefetches).toHaveLength(0);
  });
});
