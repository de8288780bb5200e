import { expect, test } from '@jupyterlab/galata';

import {
  explainFromContextMenu,
  notebookWith,
  screenshot,
  waitModelReady
} from '../helpers';

const PANEL = '#jupyter-codegen-explain';

test.describe('Explain (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test("the cell context menu opens the panel with the model's explanation", async ({
    page
  }) => {
    // Given a code cell
    await notebookWith(page, ['def double(x):\n    return x * 2']);
    // When "Explain Code" is chosen from the cell's context menu
    await explainFromContextMenu(page, 0);
    // Then the panel opens on the code and the real model's text arrives
    // (that it grows while it streams is tested on the scripted server,
    // whose pace is known: the tiny model may finish within one render)
    const panel = page.locator(PANEL);
    await expect(panel).toBeVisible();
    const entry = panel.locator('.jp-codegen-ExplainEntry').last();
    await expect(entry.locator('.jp-codegen-ExplainCode')).toHaveText(
      'def double(x):\n    return x * 2'
    );
    await expect(entry).toHaveAttribute('data-state', 'done');
    const body = entry.locator('.jp-codegen-ExplainBody');
    expect((await body.innerText()).trim().length).toBeGreaterThan(0);
  });

  test('the palette and the shortcut explain a selection', async ({ page }) => {
    await notebookWith(page, ['a = 1\nb = a + 1']);
    // Select the second line only
    await page.keyboard.press('Shift+Home');
    await page.keyboard.press('Control+Shift+Y');
    const entry = page.locator(`${PANEL} .jp-codegen-ExplainEntry`).last();
    await expect(entry.locator('.jp-codegen-ExplainCode')).toHaveText(
      'b = a + 1'
    );
    await expect(entry).toHaveAttribute('data-state', 'done');
    // The command is also in the palette
    await page.keyboard.press('Control+Shift+C');
    await page.keyboard.type('Explain Code');
    await expect(
      page.locator('.lm-CommandPalette-item', { hasText: 'Explain Code' })
    ).toHaveCount(1);
  });

  test('HTML and images in an explanation render inert', async ({ page }) => {
    // Given a server reply whose explanation carries markup (the tiny model
    // cannot be asked for exact words, so this one reply is routed)
    const payload =
      'Careful: <img src=x onerror="window.__pwned = 1"> and ' +
      '<script>window.__pwned = 2</script> and ![chart](http://example.invalid/c.png)';
    await page.route(/\/jupyter-codegen\/explain/, route =>
      route.fulfill({
        status: 200,
        headers: { 'Content-Type': 'text/event-stream' },
        body:
          `event: explanation\ndata: ${JSON.stringify({ delta: payload })}\n\n` +
          `event: done\ndata: ${JSON.stringify({
            explanation: payload,
            model: 'routed',
            finish_reason: 'stop',
            timings: {}
          })}\n\n`
      })
    );
    await notebookWith(page, ['x = 1']);
    await page.keyboard.press('Control+Shift+Y');
    const entry = page.locator(`${PANEL} .jp-codegen-ExplainEntry`).last();
    await expect(entry).toHaveAttribute('data-state', 'done');
    const body = entry.locator('.jp-codegen-ExplainBody');
    // Then the markup shows as text, and nothing ran or loaded
    await expect(body).toContainText(
      '<img src=x onerror="window.__pwned = 1">'
    );
    await expect(body).toContainText('<script>window.__pwned = 2</script>');
    await expect(body).toContainText('chart');
    await expect(body.locator('img, script, iframe')).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
    await screenshot(page, 'explain-inert-html');
  });

  test('an error reply shows the server message, here and in the status item', async ({
    page
  }) => {
    // Given a server that answers with its JSON error body (routed: the tiny
    // model is never busy on demand)
    await page.route(/\/jupyter-codegen\/explain/, route =>
      route.fulfill({
        status: 429,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          message: 'The model is busy: 8 requests are queued',
          reason: 'Too Many Requests'
        })
      })
    );
    await notebookWith(page, ['x = 1']);
    await page.keyboard.press('Control+Shift+Y');
    // Then the entry ends in an error with the server's message
    const entry = page.locator(`${PANEL} .jp-codegen-ExplainEntry`).last();
    await expect(entry).toHaveAttribute('data-state', 'error');
    await expect(entry.locator('.jp-codegen-ExplainStatus')).toHaveText(
      'Error: The model is busy: 8 requests are queued'
    );
    // And the status item says which request failed, and how
    const item = page.locator('.jp-codegen-StatusItem');
    await expect(item).toHaveAttribute('data-state', 'request-error');
    await expect(item).toHaveAttribute(
      'title',
      /^Last explanation failed \(HTTP 429\): The model is busy: 8 requests are queued\n/
    );
  });

  test('an error event ends the stream as an error and keeps the text so far', async ({
    page
  }) => {
    await page.route(/\/jupyter-codegen\/explain/, route =>
      route.fulfill({
        status: 200,
        headers: { 'Content-Type': 'text/event-stream' },
        body:
          'event: explanation\ndata: {"delta": "It adds one"}\n\n' +
          'event: error\ndata: {"message": "Generation failed: out of memory"}\n\n' +
          'event: explanation\ndata: {"delta": " (never shown)"}\n\n'
      })
    );
    await notebookWith(page, ['x = 1']);
    await page.keyboard.press('Control+Shift+Y');
    const entry = page.locator(`${PANEL} .jp-codegen-ExplainEntry`).last();
    await expect(entry).toHaveAttribute('data-state', 'error');
    await expect(entry.locator('.jp-codegen-ExplainStatus')).toHaveText(
      'Error: Generation failed: out of memory'
    );
    const body = entry.locator('.jp-codegen-ExplainBody');
    await expect(body).toHaveText('It adds one');
    const item = page.locator('.jp-codegen-StatusItem');
    await expect(item).toHaveAttribute(
      'title',
      /^Last explanation failed \(HTTP 500\): Generation failed: out of memory\n/
    );
  });
});
