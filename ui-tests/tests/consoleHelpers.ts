import { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { expect } from '@playwright/test';

/** Open a Python console and wait for its kernel to be idle. */
export async function openConsole(page: IJupyterLabPageFixture): Promise<void> {
  await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    await app.commands.execute('console:create', {
      kernelPreference: { name: 'python3' }
    });
  });
  await page.locator('.jp-CodeConsole-promptCell .cm-content').waitFor();
  await expect
    .poll(
      () =>
        page.evaluate(() => {
          const app = (window as any).jupyterapp;
          const widget = app.shell.currentWidget;
          return widget?.sessionContext?.session?.kernel?.status;
        }),
      { timeout: 60_000 }
    )
    .toBe('idle');
}

/** Run `code` in the current console and wait until it has run. */
export async function runInConsole(
  page: IJupyterLabPageFixture,
  code: string
): Promise<void> {
  const ran = await page.locator('.jp-CodeConsole-content .jp-Cell').count();
  await page.evaluate(source => {
    const app = (window as any).jupyterapp;
    const panel = app.shell.currentWidget;
    panel.console.promptCell.model.sharedModel.setSource(source);
  }, code);
  await page.locator('.jp-CodeConsole-promptCell .cm-content').click();
  await page.keyboard.press('Shift+Enter');
  await expect(page.locator('.jp-CodeConsole-content .jp-Cell')).toHaveCount(
    ran + 1
  );
  // It has run when its prompt shows an execution count.
  await expect(
    page
      .locator('.jp-CodeConsole-content .jp-Cell')
      .last()
      .locator('.jp-InputPrompt')
  ).toHaveText(/\[\d+\]/, { timeout: 60_000 });
}
