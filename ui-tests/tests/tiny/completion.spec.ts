import { expect, test } from '@jupyterlab/galata';

import {
  cellSource,
  GHOST,
  notebookWith,
  screenshot,
  waitModelReady
} from '../helpers';

test.describe('inline completion (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('ghost text appears after typing, and Tab inserts it', async ({
    page
  }) => {
    // Given an empty code cell in edit mode
    await notebookWith(page, ['']);
    // When the user types a comment (any text the random model adds still parses)
    const typed = '# the running total of the sales';
    await page.keyboard.type(typed);
    // Then ghost text from our provider appears
    const ghost = page.locator(GHOST);
    await expect(ghost).toBeVisible();
    await expect(ghost).not.toHaveText('');
    await expect(page.locator('.jp-mod-inline-completer-active')).toHaveCount(
      1
    );
    await screenshot(page, 'ghost-text');
    // And Tab accepts it into the cell, without indenting
    const before = await cellSource(page, 0);
    expect(before).toBe(typed);
    await page.keyboard.press('Tab');
    await expect(page.locator(GHOST)).toHaveCount(0);
    const after = await cellSource(page, 0);
    expect(after.startsWith(typed)).toBeTruthy();
    expect(after.length).toBeGreaterThan(typed.length);
    expect(after).not.toContain('\t');
    await screenshot(page, 'ghost-text-accepted');
  });

  test('Tab indents as usual when no suggestion is shown', async ({ page }) => {
    await notebookWith(page, ['x = 1']);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await cellSource(page, 0)).toBe('x = 1\n    ');
  });
});
