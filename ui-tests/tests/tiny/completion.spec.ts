import {
  expect,
  galata,
  IJupyterLabPageFixture,
  test
} from '@jupyterlab/galata';

import {
  cellSource,
  GHOST,
  notebookWith,
  screenshot,
  settledGhost,
  typeUntilGhost,
  waitModelReady
} from '../helpers';

/**
 * After Alt+\\: the first of the candidates (`candidates`, 3) that kept its
 * text once streaming settled, cycling past empty ones with Alt+] ('' when
 * none did).
 */
async function settledCandidate(page: IJupyterLabPageFixture): Promise<string> {
  for (let i = 0; i < 3; i++) {
    const shown = await settledGhost(page);
    if (shown.trim()) {
      return shown;
    }
    if (!(await page.locator(GHOST).count())) {
      return '';
    }
    await page.keyboard.press('Alt+]');
  }
  return '';
}

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
    let typed = '# the running total of the sales';
    await page.keyboard.type(typed);
    // Then ghost text from our provider appears
    const ghost = page.locator(GHOST);
    await expect(ghost).toBeVisible();
    await expect(ghost).not.toHaveText('');
    await expect(page.locator('.jp-mod-inline-completer-active')).toHaveCount(
      1
    );
    await screenshot(page, 'ghost-text');
    // (once it has finished streaming: the final reply may drop the random
    // model's text, which then disappears, and the user types on)
    const more = await typeUntilGhost(page, 'sxyz');
    typed += more.typed;
    const shown = more.shown;
    expect(shown).not.toBe('');
    // And Tab accepts it into the cell, without indenting
    expect(await cellSource(page, 0)).toBe(typed);
    await page.keyboard.press('Tab');
    await expect.poll(() => cellSource(page, 0)).not.toBe(typed);
    // (the edit asks for the next suggestion at once, which may show a new
    // ghost: the cell holds what was shown)
    const after = await cellSource(page, 0);
    expect(after).toBe(typed + shown);
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

test.describe('more places and keys (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('the file editor gets suggestions too', async ({ page, tmpPath }) => {
    // Given a Python file open in the file editor
    await page.contents.uploadContent(
      'import os\n',
      'text',
      `${tmpPath}/script.py`
    );
    await page.filebrowser.open(`${tmpPath}/script.py`);
    const editor = page.locator('.jp-FileEditor .cm-content');
    await editor.click();
    await page.keyboard.press('Control+End');
    // When the user types
    await page.keyboard.type('# list the files in the folder');
    // Then ghost text appears in the file editor
    await expect(page.locator(`.jp-FileEditor ${GHOST}`)).not.toHaveText('');
    await screenshot(page, 'ghost-text-file-editor');
  });
});

test.describe('manual trigger (tiny model)', () => {
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-codegen:plugin': { trigger: 'manual' }
    }
  });

  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('Alt+\\ asks for several candidates and Alt+] cycles them', async ({
    page
  }) => {
    // Given the manual trigger: typing alone shows nothing
    await notebookWith(page, ['']);
    await page.keyboard.type('# several ideas');
    await page.waitForTimeout(1500);
    await expect(page.locator(GHOST)).toHaveCount(0);
    // When the completer is invoked by hand
    const ghost = page.locator(GHOST);
    // (the random model's candidates may all be dropped by the parse gate, or
    // be blank; then the user types on and asks again)
    let first = '';
    for (const more of ['', 's', 'x', 'y']) {
      await page.keyboard.type(more);
      await page.keyboard.press('Alt+\\');
      first = await settledCandidate(page);
      if (first) {
        break;
      }
      await page.keyboard.press('Escape');
    }
    expect(first).not.toBe('');
    // Then Alt+] shows another candidate, and Alt+[ comes back
    await page.keyboard.press('Alt+]');
    await expect(ghost).not.toHaveText(first);
    await page.keyboard.press('Alt+[');
    await expect(ghost).toHaveText(first);
    await screenshot(page, 'ghost-text-cycled');
  });
});
