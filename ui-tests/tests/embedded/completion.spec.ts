import { expect, test } from '@jupyterlab/galata';

import {
  GHOST,
  notebookWith,
  screenshot,
  serverStatus,
  waitModelReady
} from '../helpers';

test.describe('inline completion (embedded model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!, 600_000);
  });

  test('a suggestion uses a function defined in an earlier cell', async ({
    page
  }) => {
    // Given a notebook whose first cell defines a helper (never run)
    await notebookWith(page, [
      'def fahrenheit_from_celsius(c):\n    return c * 9 / 5 + 32',
      'import statistics\nprint(statistics.mean([1, 2]))',
      'temps_c = [12.5, 18.0, 21.3]\n'
    ]);
    // When the user starts a conversion two cells below it
    await page.keyboard.type('temps_f = [');
    // Then the ghost text calls the helper
    const ghost = page.locator(GHOST);
    await expect(ghost).toContainText('fahrenheit_from_celsius', {
      timeout: 90_000
    });
    await screenshot(page, 'ghost-text-uses-earlier-cell');
  });

  test('typing on cancels the earlier generation on the server', async ({
    page,
    request,
    baseURL
  }) => {
    const before = await serverStatus(request, baseURL!);
    await notebookWith(page, ['import numpy as np\n']);
    // When a suggestion is being generated...
    await page.keyboard.type('values = np.');
    await expect
      .poll(
        async () => (await serverStatus(request, baseURL!)).requests.active,
        {
          timeout: 30_000,
          intervals: [100]
        }
      )
      .toBeGreaterThan(0);
    // ...and the user types on, off the suggestion
    await page.keyboard.type('zeros((3, 4))  # the grid');
    // Then the server cancels the stale generation
    await expect
      .poll(
        async () => (await serverStatus(request, baseURL!)).requests.cancelled,
        {
          timeout: 60_000
        }
      )
      .toBeGreaterThan(before.requests.cancelled);
    const completes = (
      await serverStatus(request, baseURL!)
    ).requests.recent.filter(r => r.kind === 'complete');
    expect(completes.some(r => r.outcome === 'cancelled')).toBeTruthy();
  });
});
