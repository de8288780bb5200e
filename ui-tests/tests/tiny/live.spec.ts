import {
  expect,
  galata,
  IJupyterLabPageFixture,
  test
} from '@jupyterlab/galata';
import { Page, Request } from '@playwright/test';

import { GHOST, notebookWith, screenshot, waitModelReady } from '../helpers';

/**
 * Live-context lookups (execute requests naming live_context) that the page
 * sends to kernels, read off the kernel
 * websockets (whatever their framing: the JSON header is in the frame).
 */
function watchExecuteRequests(page: Page): { sent: string[] } {
  const seen = { sent: [] as string[] };
  page.on('websocket', ws => {
    ws.on('framesent', frame => {
      const text =
        typeof frame.payload === 'string'
          ? frame.payload
          : frame.payload.toString('utf8');
      if (text.includes('"execute_request"') && text.includes('live_context')) {
        seen.sent.push(text);
      }
    });
  });
  return seen;
}

/** The status of the current widget's kernel. */
async function kernelStatus(page: Page): Promise<string> {
  return page.evaluate(() => {
    const app = (window as any).jupyterapp;
    return app.shell.currentWidget?.sessionContext?.session?.kernel?.status;
  });
}

/** The next completion request, after `action`. */
async function completionAfter(
  page: IJupyterLabPageFixture,
  action: () => Promise<void>,
  timeout = 30_000
): Promise<Request> {
  const next = page.waitForRequest(
    r => r.url().includes('/jupyter-codegen/complete') && r.method() === 'POST',
    { timeout }
  );
  await action();
  return next;
}

test.describe('live kernel context (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('a busy kernel adds nothing: the request goes out at once, nothing is queued on the kernel', async ({
    page
  }) => {
    const executes = watchExecuteRequests(page);
    // Given a kernel busy with a long cell
    await notebookWith(page, ['import time; time.sleep(12)', '']);
    await page.notebook.enterCellEditingMode(0);
    await page.keyboard.press('Control+Enter');
    await expect
      .poll(() => kernelStatus(page), { timeout: 60_000 })
      .toBe('busy');
    const queuedBefore = executes.sent.length;
    // When the user types in another cell
    await page.notebook.enterCellEditingMode(1);
    let typedAt = 0;
    const req = await completionAfter(page, async () => {
      await page.keyboard.type('total = ');
      typedAt = Date.now();
    });
    // Then the completion request goes out promptly (debounce only), with
    // an empty namespace
    const waited = Date.now() - typedAt;
    expect(waited).toBeLessThan(3000);
    expect(req.postDataJSON().namespace).toBe('');
    expect(await kernelStatus(page)).toBe('busy');
    // and no execute request was sent to the kernel for it
    await page.waitForTimeout(500);
    expect(executes.sent.length).toBe(queuedBefore);
    await screenshot(page, 'live-busy-kernel');

    // Control: once the cell is done and the kernel idle, typing asks it
    // (silently).
    await expect
      .poll(() => kernelStatus(page), { timeout: 30_000 })
      .toBe('idle');
    await completionAfter(page, () => page.keyboard.type('1 + '));
    expect(executes.sent.length).toBe(queuedBefore + 1);
    const lookup = executes.sent[executes.sent.length - 1];
    expect(lookup).toContain('live_context');
    expect(lookup).toMatch(/"silent":\s*true/);
    expect(lookup).toMatch(/"store_history":\s*false/);
  });

  test('an idle kernel describes its variables in the request', async ({
    page
  }) => {
    // Given a cell that made a frame and a dict, run
    await notebookWith(page, [
      [
        'import pandas as pd',
        'orders_frame = pd.DataFrame({"parcel_mass_g": [1.5], "route_code": ["A"]})',
        'lookup_table = {"north_gate": 1, "south_gate": 2}'
      ].join('\n'),
      ''
    ]);
    await page.notebook.runCell(0);
    await expect.poll(() => kernelStatus(page)).toBe('idle');
    // When the user types in the next cell
    await page.notebook.enterCellEditingMode(1);
    const req = await completionAfter(page, () =>
      page.keyboard.type('orders_frame[')
    );
    // Then the request carries the kernel's description of them
    const namespace: string = req.postDataJSON().namespace;
    expect(namespace).toContain('orders_frame');
    expect(namespace).toContain('parcel_mass_g');
    expect(namespace).toContain('lookup_table');
    expect(namespace).toContain('north_gate');
  });
});

test.describe('live kernel context turned off (tiny model)', () => {
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-codegen:plugin': { liveContext: false }
    }
  });

  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('the liveContext setting off: the idle kernel is not asked', async ({
    page
  }) => {
    const executes = watchExecuteRequests(page);
    await notebookWith(page, ['answer_value = 42', '']);
    await page.notebook.runCell(0);
    await expect.poll(() => kernelStatus(page)).toBe('idle');
    const before = executes.sent.length;
    await page.notebook.enterCellEditingMode(1);
    const req = await completionAfter(page, () =>
      page.keyboard.type('answer_')
    );
    expect(req.postDataJSON().namespace).toBe('');
    await page.waitForTimeout(500);
    expect(executes.sent.length).toBe(before);
  });
});

test.describe('first-suggestion hint (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('the first ghost text of a session names the keys, once', async ({
    page
  }) => {
    const hint = page.locator('.Toastify__toast', { hasText: 'Tab accepts' });
    await notebookWith(page, ['']);
    await page.keyboard.type('# add up the numbers');
    await expect(page.locator(GHOST)).not.toHaveText('');
    await expect(hint).toBeVisible();
    await expect(hint).toContainText('Alt+]');
    await expect(hint).toContainText('Escape');
    await screenshot(page, 'first-suggestion-hint');
    // Remembered for the session (a reload in this tab shows no hint)
    expect(
      await page.evaluate(() =>
        sessionStorage.getItem('jupyter-codegen:ghost-text-hint')
      )
    ).toBe('1');
    // Once it has gone, the next ghost text comes without it.
    await expect(hint).toHaveCount(0, { timeout: 30_000 });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    await page.keyboard.type('# and the mean of them');
    await expect(page.locator(GHOST)).not.toHaveText('');
    await page.waitForTimeout(1500);
    await expect(hint).toHaveCount(0);
  });
});
