import { expect, test } from '@jupyterlab/galata';

import { GHOST, notebookWith, screenshot, waitModelReady } from '../helpers';
import { openConsole, runInConsole } from '../consoleHelpers';

/** Column names that no cell's text shows: only the kernel knows them. */
const COLUMNS = ['Zylphor Index', 'qty_shipped_kg', 'vendor_zone'];

test.describe('live kernel context (embedded model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!, 600_000);
  });

  test('ghost text names a column of a CSV that only the kernel has seen', async ({
    page,
    tmpPath
  }) => {
    // Given a CSV with unusual column names, written through the contents
    // API (so that no cell shows them)
    const rows = [
      COLUMNS.join(','),
      '0.7,120.5,north',
      '1.3,98.25,south',
      '0.4,143.0,east'
    ];
    await page.contents.uploadContent(
      rows.join('\n') + '\n',
      'text',
      `${tmpPath}/shipments.csv`
    );
    // and a notebook that loads it with pandas, run
    await notebookWith(page, [
      'import pandas as pd\nshipments = pd.read_csv("shipments.csv")',
      ''
    ]);
    await page.notebook.runCell(0);
    await expect
      .poll(() =>
        page.evaluate(() => {
          const app = (window as any).jupyterapp;
          return app.shell.currentWidget.sessionContext.session.kernel.status;
        })
      )
      .toBe('idle');
    for (const column of COLUMNS) {
      // (no cell's text holds a column name)
      const sources = await page.evaluate(() => {
        const app = (window as any).jupyterapp;
        return app.shell.currentWidget.content.widgets.map((c: any) =>
          c.model.sharedModel.getSource()
        );
      });
      expect(sources.join('\n')).not.toContain(column);
    }
    // When the user starts to total the shipped weight in the next cell
    await page.notebook.enterCellEditingMode(1);
    const next = page.waitForRequest(
      r =>
        r.url().includes('/jupyter-codegen/complete') && r.method() === 'POST'
    );
    await page.keyboard.type(
      '# total weight shipped, in kg\ntotal_kg = shipments['
    );
    // Then the request carries the kernel's description of the frame
    const body = (await next).postDataJSON();
    expect(body.namespace).toContain('qty_shipped_kg');
    // And the ghost text names one of the CSV's columns
    const ghost = page.locator(GHOST);
    await expect
      .poll(
        async () => {
          const text = (await ghost.count()) ? await ghost.innerText() : '';
          return COLUMNS.some(column => text.includes(column));
        },
        { timeout: 120_000, intervals: [1000] }
      )
      .toBeTruthy();
    await screenshot(page, 'live-column-ghost-text');
  });

  test('a console suggestion calls a function defined by an earlier console input', async ({
    page
  }) => {
    // Given a console that defined and ran a function with an unusual name
    await openConsole(page);
    await runInConsole(
      page,
      'def zqx_reverse_words(sentence):\n    return " ".join(reversed(sentence.split()))'
    );
    // When the user starts to use it in the prompt
    const prompt = page.locator('.jp-CodeConsole-promptCell .cm-content');
    await prompt.click();
    await page.keyboard.type('flipped = zqx_');
    // Then the ghost text completes its name from the earlier input
    await expect(page.locator(`.jp-CodeConsole ${GHOST}`)).toContainText(
      'reverse_words',
      { timeout: 120_000 }
    );
    await screenshot(page, 'console-ghost-text-embedded');
  });
});
