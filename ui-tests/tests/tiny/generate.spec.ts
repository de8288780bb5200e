import { expect, galata, test } from '@jupyterlab/galata';
import { Page, Request } from '@playwright/test';

import {
  cellSource,
  notebookWith,
  screenshot,
  serverStatus,
  waitModelReady
} from '../helpers';

const BAR = '.jp-codegen-GenerateBar';

/** Settings with generated code up to `tokens` long. */
function withMaxTokens(tokens: number) {
  return {
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-codegen:plugin': { generateMaxTokens: tokens }
    }
  };
}

// Long enough to watch it stream on the tiny model, short enough to be quick.
test.use(withMaxTokens(300));

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

/** Record each distinct non-empty text of cell `index` until `stop()` is true. */
async function watchCell(
  page: Page,
  index: number,
  stop: () => Promise<boolean>
): Promise<Set<string>> {
  const seen = new Set<string>();
  while (!(await stop())) {
    const count = (await sources(page)).length;
    if (count > index) {
      const text = await cellSource(page, index);
      if (text) {
        seen.add(text);
      }
    }
    await page.waitForTimeout(30);
  }
  return seen;
}

test.describe('Generate code from a description (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('Alt+G asks with the comment prefilled and streams the code into a new cell below', async ({
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
    // And the code streams into a new third cell while the Stop bar shows
    await expect(page.locator(BAR)).toBeVisible();
    await screenshot(page, 'generate-streaming');
    const seen = await watchCell(
      page,
      2,
      async () => (await page.locator(BAR).count()) === 0
    );
    expect(seen.size).toBeGreaterThan(1);
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

test.describe('Stop generating (tiny model)', () => {
  // Long enough to stop it mid-way.
  test.use(withMaxTokens(1000));

  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('Escape stops it mid-way, on the server too, and the code so far stays', async ({
    page,
    request,
    baseURL
  }) => {
    const before = (await serverStatus(request, baseURL!)).requests.cancelled;
    await notebookWith(page, ['import pandas as pd']);
    await page.keyboard.press('Alt+g');
    await page.locator('.jp-Dialog input').fill('load data.csv into df');
    await page.keyboard.press('Enter');
    // Once some code has streamed in
    await expect.poll(async () => (await sources(page)).length).toBe(2);
    await expect
      .poll(async () => (await cellSource(page, 1)).length)
      .toBeGreaterThan(0);
    await page.keyboard.press('Escape');
    // Then the generation ends here
    await expect(page.locator(BAR)).toHaveCount(0);
    const kept = await cellSource(page, 1);
    expect(kept.length).toBeGreaterThan(0);
    // And on the server: the request is recorded as cancelled, well short of its tokens
    await expect
      .poll(
        async () => (await serverStatus(request, baseURL!)).requests.cancelled
      )
      .toBeGreaterThan(before);
    const recent = (await serverStatus(request, baseURL!)).requests.recent;
    const last = recent.filter(r => r.kind === 'generate').pop()!;
    expect(last.outcome).toBe('cancelled');
    expect(last.generated_tokens).toBeLessThan(1000);
    // And nothing more is written into the cell
    await page.waitForTimeout(500);
    expect(await cellSource(page, 1)).toBe(kept);
    // The Stop button does the same
    await page.notebook.enterCellEditingMode(1);
    await page.keyboard.press('Alt+g');
    await page.locator('.jp-Dialog input').fill('print df');
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await sources(page)).length).toBe(3);
    await page.locator(`${BAR} button[data-action="stop-generate"]`).click();
    await expect(page.locator(BAR)).toHaveCount(0);
    await expect
      .poll(async () => {
        const r = (await serverStatus(request, baseURL!)).requests.recent;
        return r.filter(x => x.kind === 'generate').pop()!.outcome;
      })
      .toBe('cancelled');
  });
});
