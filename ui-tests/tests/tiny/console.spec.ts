import { expect, test } from '@jupyterlab/galata';

import { screenshot, typeUntilGhost, waitModelReady } from '../helpers';
import { openConsole, runInConsole } from '../consoleHelpers';

test.describe('code console (tiny model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('suggestions in a console use its earlier inputs and its kernel', async ({
    page
  }) => {
    // Given a console that ran a function with an unusual name
    await openConsole(page);
    const definition = 'def zqx_mangle(text):\n    return text[::-1]';
    await runInConsole(page, definition);
    await runInConsole(page, 'mangled_word = zqx_mangle("parcel")');
    // When the user types its first letters in the prompt
    const prompt = page.locator('.jp-CodeConsole-promptCell .cm-content');
    await prompt.click();
    const next = page.waitForRequest(
      r =>
        r.url().includes('/jupyter-codegen/complete') && r.method() === 'POST'
    );
    await page.keyboard.type('print(zqx');
    const body = (await next).postDataJSON();
    // Then the request holds the earlier inputs, in order, before the prompt
    expect(body.prefix).toBe('print(zqx');
    expect(body.cells_before.map((c: { source: string }) => c.source)).toEqual([
      definition,
      'mangled_word = zqx_mangle("parcel")'
    ]);
    expect(body.cells_after).toEqual([]);
    // and the console's kernel described its live variables
    expect(body.namespace).toContain('zqx_mangle');
    expect(body.namespace).toContain('mangled_word');
    // And ghost text shows in the console. (The random model's text after an
    // open bracket rarely parses, so its reply is dropped there; after a
    // comment any text does, and the user types on while replies are dropped.)
    await page.keyboard.press('Control+a');
    await page.keyboard.type('# reverse the word');
    const { shown } = await typeUntilGhost(page, 'sxyz', '.jp-CodeConsole');
    expect(shown).not.toBe('');
    await screenshot(page, 'console-ghost-text');
  });
});
