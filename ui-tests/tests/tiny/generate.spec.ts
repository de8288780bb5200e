import { expect, galata, test } from '@jupyterlab/galata';
import { Page, Request } from '@playwright/test';

import {
  cellSource,
  notebookWith,
  screenshot,
  waitModelReady
} from '../helpers';

const BAR = '.jp-codegen-GenerateBar';

// Short enough to be quick on the tiny model.
test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyter-codegen:plugin': { generateMaxTokens: 300 }
  }
});

/** The sources of every cell of the current notebook. */
async function sources(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const app = (window as any).jupyterapp;
    const panel = app.shell.currentWidget;
    return panel.content.widgets.map((c: any) =>
      c.model.sharedModel.getSource()
    ) as string[];
  });
}

/** The body of the next `POST /generate` the page sends. */
function nextGenerateRequest(page: Page): Promise<Request> {
  return page.waitForRequest(
    r => r.url().includes('/jupyter-codegen/generate') && r.method() === 'POST'
  );
}

/** The final `done` reply in a `/generate` event stream. */
function doneOf(stream: string): { code: string; finish_reason: string } {
  const block = stream.split('\n\n').find(b => b.startsWith('event: done'));
  expect(block).toBeTruthy();
  return JSON.parse(
    block!
      .split('\n')
      .find(l => l.startsWith('data:'))!
      .slice(5)
  );
}

test.describe('Generate code from a description (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('Alt+G asks with the comment prefilled and the code lands in a new cell below', async ({
    page
  }) => {
    // Given a notebook whose active cell ends with a comment
    await notebookWith(page, [
      'import math',
      'x = 2.0\n# the square root of x'
    ]);
    // When Alt+G is pressed, the dialog holds the comment
    await page.keyboard.press('Alt+g');
    const input = page.locator('.jp-Dialog input');
    await expect(input).toHaveValue('the square root of x');
    // And Generate is chosen
    const sent = nextGenerateRequest(page);
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    const request = await sent;
    // Then the request carries the description and the notebook as context
    const body = request.postDataJSON();
    expect(body.instruction).toBe('the square root of x');
    expect(body.cells_before).toEqual([
      { cell_type: 'code', source: 'import math' },
      { cell_type: 'code', source: 'x = 2.0\n# the square root of x' }
    ]);
    expect(body.language).toBe('python');
    expect(body.stream).toBe(true);
    expect(body.max_tokens).toBe(300);
    expect(body.request_id).toMatch(/^codegen-generate-/);
    // And the code lands in a new third cell (that it streams in while the
    // Stop bar shows is tested on the scripted server, whose pace is known)
    await expect(page.locator(BAR)).toHaveCount(0);
    // And the cell ends with the server's final code; the others are untouched
    const response = await request.response();
    const done = doneOf((await response!.text()) as string);
    const after = await sources(page);
    expect(after).toHaveLength(3);
    expect(after.slice(0, 2)).toEqual([
      'import math',
      'x = 2.0\n# the square root of x'
    ]);
    expect(after[2]).toBe(done.code);
    expect(after[2].length).toBeGreaterThan(0);
    expect(await page.notebook.getCellType(2)).toBe('code');
    await screenshot(page, 'generate-new-cell');
  });

  test('undo takes the generated code out, then the new cell, in one step each', async ({
    page
  }) => {
    await notebookWith(page, ['a = 1', 'b = a + 1']);
    await page.notebook.selectCells(0);
    const previous = await sources(page);
    // Generate from the cell's context menu
    await (await page.notebook.getCellLocator(0))!.click({ button: 'right' });
    await page
      .getByRole('menuitem', { name: 'Generate Code from a Description…' })
      .click();
    await page.locator('.jp-Dialog input').fill('print a');
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await sources(page)).length).toBe(3);
    await expect(page.locator(BAR)).toHaveCount(0, { timeout: 60_000 });
    const generated = await cellSource(page, 1);
    expect(generated.length).toBeGreaterThan(0);
    expect((await sources(page))[2]).toBe('b = a + 1');
    // Ctrl+Z in the new cell takes all of its code out at once
    await page.notebook.enterCellEditingMode(1);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => cellSource(page, 1)).toBe('');
    // Z in command mode (undo cell operation) removes the cell
    await page.keyboard.press('Escape');
    await page.keyboard.press('z');
    await expect.poll(async () => sources(page)).toEqual(previous);
    await screenshot(page, 'generate-undone');
  });

  test('an empty cell gets the code at the cursor; the palette has the commands', async ({
    page
  }) => {
    await notebookWith(page, ['import os', '']);
    await page.keyboard.press('Alt+g');
    await expect(page.locator('.jp-Dialog input')).toHaveValue('');
    await page.locator('.jp-Dialog input').fill('list the files here');
    await page.keyboard.press('Enter');
    await expect.poll(async () => cellSource(page, 1)).not.toBe('');
    await expect(page.locator(BAR)).toHaveCount(0, { timeout: 60_000 });
    expect(await sources(page)).toHaveLength(2);
    // One Ctrl+Z in the cell empties it again
    await page.notebook.enterCellEditingMode(1);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => cellSource(page, 1)).toBe('');
    // Both commands are in the palette
    await page.keyboard.press('Control+Shift+C');
    await page.keyboard.type('Generat');
    await expect(
      page.locator('.lm-CommandPalette-item', {
        hasText: 'Generate Code from a Description…'
      })
    ).toHaveCount(1);
    await expect(
      page.locator('.lm-CommandPalette-item', {
        hasText: 'Stop Generating Code'
      })
    ).toHaveCount(1);
  });
});
