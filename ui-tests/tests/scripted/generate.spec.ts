import { expect, test } from '@jupyterlab/galata';
import { Page } from '@playwright/test';

import {
  cellSource,
  expectCancelledOnServer,
  notebookWith,
  screenshot,
  serverStatus,
  waitModelReady
} from '../helpers';
import { SCRIPTED_URL, sourcesOf } from './proposals';

// The scripted server streams generated code in 4-character pieces at a set
// pace (scripted_chat.py): 0.1 s apart for "add up xs at a steady pace",
// 0.25 s apart (about a minute in all) for "generate it slowly".
test.use({ baseURL: SCRIPTED_URL });

const BAR = '.jp-codegen-GenerateBar';
const PACED = 'total = 0\nfor x in xs:\n    total += x\nprint(total)';

/** Each distinct non-empty text of cell `index`, in order, until `stop()`. */
async function watchCell(
  page: Page,
  index: number,
  stop: () => Promise<boolean>
): Promise<string[]> {
  const seen: string[] = [];
  while (!(await stop())) {
    if ((await sourcesOf(page)).length > index) {
      const text = await cellSource(page, index);
      if (text && text !== seen[seen.length - 1]) {
        seen.push(text);
      }
    }
    await page.waitForTimeout(30);
  }
  return seen;
}

/** Ask Alt+G for `instruction` below the active cell. */
async function generate(page: Page, instruction: string): Promise<void> {
  await page.keyboard.press('Alt+g');
  await page.locator('.jp-Dialog input').fill(instruction);
  await page.keyboard.press('Enter');
}

test.describe('Generate code (scripted model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('the code streams into the new cell while the Stop bar shows', async ({
    page
  }) => {
    await notebookWith(page, ['xs = [1, 2, 3]']);
    await generate(page, 'add up xs at a steady pace');
    await expect(page.locator(BAR)).toBeVisible();
    await screenshot(page, 'generate-streaming');
    const seen = await watchCell(
      page,
      1,
      async () => (await page.locator(BAR).count()) === 0
    );
    // Each view extends the one before, up to the whole code
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i].startsWith(seen[i - 1].trimEnd())).toBe(true);
    }
    expect(await cellSource(page, 1)).toBe(PACED);
    expect(await sourcesOf(page)).toEqual(['xs = [1, 2, 3]', PACED]);
  });

  test('Escape stops it mid-way, on the server too, and the code so far stays', async ({
    page,
    request,
    baseURL
  }) => {
    const before = (await serverStatus(request, baseURL!)).requests.cancelled;
    await notebookWith(page, ['import pandas as pd']);
    await generate(page, 'generate it slowly');
    // Once some code has streamed in
    await expect.poll(async () => (await sourcesOf(page)).length).toBe(2);
    await expect
      .poll(async () => (await cellSource(page, 1)).length)
      .toBeGreaterThan(0);
    await page.keyboard.press('Escape');
    // Then the generation ends here, well short of the reply's 200 lines
    await expect(page.locator(BAR)).toHaveCount(0);
    const kept = await cellSource(page, 1);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept).not.toContain('row_199');
    // And on the server: the request is recorded as cancelled
    await expectCancelledOnServer(request, baseURL!, before, 'generate');
    // And nothing more is written into the cell
    await page.waitForTimeout(500);
    expect(await cellSource(page, 1)).toBe(kept);
    // The Stop button does the same
    await page.notebook.enterCellEditingMode(1);
    await generate(page, 'generate it slowly');
    await expect.poll(async () => (await sourcesOf(page)).length).toBe(3);
    await page.locator(`${BAR} button[data-action="stop-generate"]`).click();
    await expect(page.locator(BAR)).toHaveCount(0);
    await expect
      .poll(async () => {
        const r = (await serverStatus(request, baseURL!)).requests.recent;
        return r.filter(x => x.kind === 'generate').pop()!.outcome;
      })
      .toBe('cancelled');
    expect(await cellSource(page, 2)).not.toContain('row_199');
  });
});
