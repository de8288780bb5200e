import { expect, test } from '@jupyterlab/galata';

import {
  expectCancelledOnServer,
  explainFromContextMenu,
  notebookWith,
  screenshot,
  serverStatus,
  waitModelReady
} from '../helpers';
import { SCRIPTED_URL } from './proposals';

// The scripted server streams explanations in 4-character pieces at a set
// pace (scripted_chat.py): 0.1 s apart for paced_total, 0.25 s apart (about a
// minute in all) for slowly_explained.
test.use({ baseURL: SCRIPTED_URL });

const PANEL = '#jupyter-codegen-explain';
const CODE = 'def paced_total(xs):\n    return sum(xs)';
const SLOW = 'def slowly_explained(n):\n    return n';
const STOP = `${PANEL} button[data-action="stop"]`;
const ASK = `${PANEL} button[data-action="ask"]`;

test.describe('Explain (scripted model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('the cell context menu opens the panel and the explanation grows while it streams', async ({
    page
  }) => {
    // Given a code cell
    await notebookWith(page, [CODE]);
    // When "Explain Code" is chosen from the cell's context menu
    await explainFromContextMenu(page, 0);
    // Then the panel opens on the code
    const panel = page.locator(PANEL);
    await expect(panel).toBeVisible();
    const entry = panel.locator('.jp-codegen-ExplainEntry').last();
    await expect(entry.locator('.jp-codegen-ExplainCode')).toHaveText(CODE);
    // And the text is shown while it streams, each view extending the last
    const body = entry.locator('.jp-codegen-ExplainBody');
    const seen: string[] = [];
    while ((await entry.getAttribute('data-state')) === 'streaming') {
      const text = (await body.innerText()).trim();
      if (text && text !== seen[seen.length - 1]) {
        seen.push(text);
      }
      await page.waitForTimeout(50);
    }
    await expect(entry).toHaveAttribute('data-state', 'done');
    expect(seen.length).toBeGreaterThan(2);
    // (The text is rendered as markdown: a marker that closes, such as the
    // backtick after `paced_total`, hides its own characters, so one view may
    // be as long as the last or a little shorter, never much)
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i].length).toBeGreaterThan(seen[i - 1].length - 4);
    }
    expect(seen[seen.length - 1].length).toBeGreaterThan(seen[0].length);
    // And the whole reply is there at the end, rendered as markdown
    await expect(body.locator('code').first()).toHaveText('paced_total');
    await expect(body).toContainText('so an empty list gives 0.');
    await screenshot(page, 'explain-panel');
  });

  test('the stop button stops the explanation on the server', async ({
    page,
    request,
    baseURL
  }) => {
    const before = (await serverStatus(request, baseURL!)).requests.cancelled;
    await notebookWith(page, [SLOW]);
    await page.keyboard.press('Control+Shift+Y');
    const entry = page.locator(`${PANEL} .jp-codegen-ExplainEntry`).last();
    const body = entry.locator('.jp-codegen-ExplainBody');
    await expect(body).toContainText('Step 0');
    await expect(entry).toHaveAttribute('data-state', 'streaming');
    await page.locator(STOP).click();
    await expect(entry).toHaveAttribute('data-state', 'stopped');
    await expect(page.locator(STOP)).toBeDisabled();
    // The text so far stays, well short of the reply's 60 steps
    await expect(body).toContainText('Step 0');
    await expect(body).not.toContainText('Step 59');
    await expectCancelledOnServer(request, baseURL!, before, 'explain');
  });

  test('Stop stops an answer on the server, and Ask waits while it streams', async ({
    page,
    request,
    baseURL
  }) => {
    const before = (await serverStatus(request, baseURL!)).requests.cancelled;
    await notebookWith(page, [SLOW]);
    await page.keyboard.press('Alt+q');
    await page
      .locator(`${PANEL} .jp-codegen-ExplainQuestion`)
      .fill('Is this efficient?');
    await page.keyboard.press('Enter');
    const entry = page.locator(`${PANEL} .jp-codegen-ExplainEntry`).last();
    await expect(entry.locator('.jp-codegen-ExplainQuestionText')).toHaveText(
      'Is this efficient?'
    );
    await expect(entry.locator('.jp-codegen-ExplainBody')).toContainText(
      'Step 0'
    );
    await expect(page.locator(ASK)).toBeDisabled();
    await page.locator(STOP).click();
    await expect(entry).toHaveAttribute('data-state', 'stopped');
    await expect(page.locator(ASK)).toBeEnabled();
    await expectCancelledOnServer(request, baseURL!, before, 'explain');
  });
});
