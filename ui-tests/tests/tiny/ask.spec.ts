import { expect, test } from '@jupyterlab/galata';
import { Page, Request } from '@playwright/test';

import { notebookWith, screenshot, waitModelReady } from '../helpers';

const PANEL = '#jupyter-codegen-explain';
const QUESTION = `${PANEL} .jp-codegen-ExplainQuestion`;

/** The next `POST /explain` the page sends. */
function nextExplainRequest(page: Page): Promise<Request> {
  return page.waitForRequest(
    r => r.url().includes('/jupyter-codegen/explain') && r.method() === 'POST'
  );
}

test.describe('Ask about code in the Explain panel (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('a question about a selection gets its answer; a follow-up carries the conversation', async ({
    page
  }) => {
    // Given a cell with the second line selected
    await notebookWith(page, ['import math\nr = math.sqrt(2)']);
    await page.keyboard.press('Shift+Home');
    // When "Ask About Code" (Alt+Q) opens the panel and a question is typed
    await page.keyboard.press('Alt+q');
    await expect(page.locator(QUESTION)).toBeFocused();
    await page.keyboard.type('What does sqrt return?');
    const sent = nextExplainRequest(page);
    await page.keyboard.press('Enter');
    // Then the request carries the question and the selection, without history
    const first = (await sent).postDataJSON();
    expect(first.question).toBe('What does sqrt return?');
    expect(first.code).toBe('r = math.sqrt(2)');
    expect(first.history).toEqual([]);
    expect(first.stream).toBe(true);
    // And the answer streams into the panel under the question
    const entry = page.locator(`${PANEL} .jp-codegen-ExplainEntry`).last();
    await expect(entry.locator('.jp-codegen-ExplainCode')).toHaveText(
      'r = math.sqrt(2)'
    );
    await expect(entry.locator('.jp-codegen-ExplainQuestionText')).toHaveText(
      'What does sqrt return?'
    );
    await expect(page.locator(QUESTION)).toHaveValue('');
    // (that the text grows while it streams is tested on the scripted server)
    await expect(entry).toHaveAttribute('data-state', 'done');
    const answer = await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      const panel = [...app.shell.widgets('right')].find(
        (w: any) => w.id === 'jupyter-codegen-explain'
      );
      return panel._latest().text as string;
    });
    expect(answer.length).toBeGreaterThan(0);

    // When a follow-up is asked with the Ask button (the selection is unchanged)
    await page.locator(QUESTION).fill('And for negative numbers?');
    const again = nextExplainRequest(page);
    await page.locator(`${PANEL} button[data-action="ask"]`).click();
    // Then it carries the earlier turns, about the same code
    const second = (await again).postDataJSON();
    expect(second.code).toBe('r = math.sqrt(2)');
    expect(second.question).toBe('And for negative numbers?');
    expect(second.history).toEqual([
      { role: 'user', content: 'What does sqrt return?' },
      { role: 'assistant', content: answer }
    ]);
    const followUp = page.locator(`${PANEL} .jp-codegen-ExplainEntry`).last();
    await expect(
      followUp.locator('.jp-codegen-ExplainQuestionText')
    ).toHaveText('And for negative numbers?');
    // A follow-up does not repeat the code
    await expect(followUp.locator('.jp-codegen-ExplainCode')).toHaveCount(0);
    await expect(followUp).toHaveAttribute('data-state', 'done');
    await screenshot(page, 'ask-follow-up');

    // When the selection changes to other code, the next question starts afresh
    await page.notebook.enterCellEditingMode(0);
    await page.keyboard.press('Control+a');
    await page.locator(QUESTION).fill('What is imported?');
    const fresh = nextExplainRequest(page);
    await page.keyboard.press('Enter');
    const third = (await fresh).postDataJSON();
    expect(third.code).toBe('import math\nr = math.sqrt(2)');
    expect(third.history).toEqual([]);
  });

  test('the command is in the palette', async ({ page }) => {
    await notebookWith(page, ['total = sum(range(10))']);
    await page.keyboard.press('Control+Shift+C');
    await page.keyboard.type('Ask About Code');
    await expect(
      page.locator('.lm-CommandPalette-item', { hasText: 'Ask About Code…' })
    ).toHaveCount(1);
  });
});
