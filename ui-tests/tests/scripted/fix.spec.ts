import { expect, test } from '@jupyterlab/galata';
import { Request } from '@playwright/test';

import { cellSource, screenshot, waitModelReady } from '../helpers';
import {
  errorOutput,
  FIX_BUTTON,
  notebookOf,
  PROPOSAL,
  recordOf,
  runCells,
  SCRIPTED_URL,
  sourcesOf,
  undoInCell,
  watchProposal
} from './proposals';

test.use({ baseURL: SCRIPTED_URL });

/** The body of the next `POST /fix` the page sends. */
function nextFixRequest(
  page: import('@playwright/test').Page
): Promise<Request> {
  return page.waitForRequest(
    r => r.url().includes('/jupyter-codegen/fix') && r.method() === 'POST'
  );
}

const TYPO = ['values = [1, 2, 3]', 'result = sum(valuez)\nprint(result)'];
const HELPER = [
  "def revenue(df):\n    return df['qty'] * df['price']",
  "orders = {'qty': 2, 'Price_USD': 3.0}\nprint(revenue(orders))"
];

test.describe('Fix Error (scripted model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('the Fix button shows beside error outputs only', async ({ page }) => {
    // Given cells with a printed line, a result, a line on stderr (rendered
    // with the same MIME type as an error) and an error
    await notebookOf(page, [
      'print("hello")',
      '1 + 1',
      'import sys\nprint("careful", file=sys.stderr)',
      'raise ValueError("boom")'
    ]);
    await runCells(page, [0, 1, 2, 3]);
    // Then only the error output has a Fix button, beside the traceback
    await expect(await errorOutput(page, 3)).toContainText('ValueError');
    await expect(page.locator(FIX_BUTTON)).toHaveCount(1);
    const errorCell = (await page.notebook.getCellLocator(3))!;
    await expect(
      errorCell.locator(`.jp-OutputArea-child ${FIX_BUTTON}`)
    ).toBeVisible();
    const stderrCell = (await page.notebook.getCellLocator(2))!;
    await expect(
      stderrCell.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    ).toContainText('careful');
    await expect(stderrCell.locator(FIX_BUTTON)).toHaveCount(0);
    await screenshot(page, 'fix-button');
    // And once the cell runs without the error, the button is gone
    await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      panel.content.widgets[3].model.sharedModel.setSource('print("fine")');
    });
    await runCells(page, [3]);
    await expect(errorCell.locator('.jp-OutputArea-output')).toContainText(
      'fine'
    );
    await expect(page.locator(FIX_BUTTON)).toHaveCount(0);
  });

  test('a fix streams into a diff of the failing cell; Apply changes it in one undo step', async ({
    page
  }) => {
    await notebookOf(page, TYPO);
    await runCells(page, [0, 1]);
    // When Fix is clicked on the error
    const sent = nextFixRequest(page);
    await (await errorOutput(page, 1)).locator(FIX_BUTTON).click();
    const body = (await sent).postDataJSON();
    // Then the request carries the cell, the notebook and the error as the
    // kernel sent it (colour codes and all), and the live variables
    expect(body.cell).toBe(TYPO[1]);
    expect(body.cells_before).toEqual([{ cell_type: 'code', source: TYPO[0] }]);
    expect(body.cells_after).toEqual([]);
    expect(body.error.ename).toBe('NameError');
    expect(body.error.traceback.join('\n')).toContain('\u001b[');
    expect(body.namespace).toContain('values');
    expect(body.stream).toBe(true);
    expect(body.request_id).toMatch(/^codegen-fix-/);
    // And the proposal streams in under the cell, the cell untouched meanwhile
    const proposal = page.locator(PROPOSAL);
    await expect(proposal).toHaveCount(1);
    const seen = await watchProposal(page);
    expect(seen.length).toBeGreaterThan(2);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    expect(await sourcesOf(page)).toEqual(TYPO);
    // The cause above the diff, and the diff of this cell
    const cause = proposal.locator('.jp-codegen-ProposalExplanation');
    await expect(cause).toHaveText('valuez is a typo of values.');
    await expect(cause.locator('code')).toHaveText(['valuez', 'values']);
    const diff = proposal.locator('.jp-codegen-ProposalDiff');
    await expect(diff).toHaveCount(1);
    await expect(diff).toHaveAttribute('data-cell', '1');
    await expect(diff.locator('.jp-codegen-ProposalDiffLabel')).toHaveText(
      'This cell'
    );
    await expect(diff.locator('.cm-changedLine')).toContainText('sum(values)');
    await expect(diff.locator('.cm-deletedChunk')).toContainText('valuez');
    await screenshot(page, 'fix-proposal');
    // When it is applied
    await proposal.locator('button[data-action="apply"]').click();
    await expect(proposal).toHaveCount(0);
    expect(await sourcesOf(page)).toEqual([
      TYPO[0],
      'result = sum(values)\nprint(result)'
    ]);
    // Then one undo in the cell takes the whole fix out
    await undoInCell(page, 1);
    expect(await cellSource(page, 1)).toBe(TYPO[1]);
  });

  test('a fix can change an earlier cell; Apply re-runs the changed cells', async ({
    page
  }) => {
    await notebookOf(page, HELPER);
    await runCells(page, [0, 1]);
    await expect(await errorOutput(page, 1)).toContainText('KeyError');
    await (await errorOutput(page, 1)).locator(FIX_BUTTON).click();
    const proposal = page.locator(PROPOSAL);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    // The diff is of the helper's cell, above the failing one
    const diff = proposal.locator('.jp-codegen-ProposalDiff');
    await expect(diff).toHaveCount(1);
    await expect(diff).toHaveAttribute('data-cell', '0');
    await expect(diff.locator('.jp-codegen-ProposalDiffLabel')).toHaveText(
      /^Cell 1/
    );
    await expect(diff.locator('.cm-changedLine')).toContainText('Price_USD');
    // When Re-run is checked and the fix applied
    const rerun = proposal.locator('input[data-action="rerun"]');
    await expect(rerun).not.toBeChecked();
    await rerun.check();
    await proposal.locator('button[data-action="apply"]').click();
    await expect(proposal).toHaveCount(0);
    // Then the earlier cell changed, the failing one did not, and both ran again
    expect(await sourcesOf(page)).toEqual([
      "def revenue(df):\n    return df['qty'] * df['Price_USD']",
      HELPER[1]
    ]);
    const failing = (await page.notebook.getCellLocator(1))!;
    await expect(failing.locator('.jp-OutputArea-output')).toHaveText('6.0');
    await expect(page.locator(FIX_BUTTON)).toHaveCount(0);
    // And one undo in the earlier cell takes its change out
    await undoInCell(page, 0);
    expect(await cellSource(page, 0)).toBe(HELPER[0]);
  });

  test('Discard leaves the notebook as it was', async ({ page }) => {
    await notebookOf(page, TYPO);
    await runCells(page, [0, 1]);
    await (await errorOutput(page, 1)).locator(FIX_BUTTON).click();
    const proposal = page.locator(PROPOSAL);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    await proposal.locator('button[data-action="discard"]').click();
    await expect(proposal).toHaveCount(0);
    expect(await sourcesOf(page)).toEqual(TYPO);
    // Nothing was put in the cell's undo history either
    await undoInCell(page, 1);
    expect(await cellSource(page, 1)).toBe(TYPO[1]);
  });

  test('Alt+F fixes the error above; the context menu has Fix Error', async ({
    page
  }) => {
    await notebookOf(page, [...TYPO, '']);
    await runCells(page, [0, 1]);
    // From the empty cell below (where Shift+Enter leaves the user)
    await page.notebook.selectCells(2);
    await page.keyboard.press('Alt+f');
    const proposal = page.locator(PROPOSAL);
    await expect(proposal).toHaveCount(1);
    const failing = (await page.notebook.getCellLocator(1))!;
    await expect(failing.locator(PROPOSAL)).toHaveCount(1);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    // The context menu of a cell without an error offers no fix
    const first = (await page.notebook.getCellLocator(0))!;
    await first.locator('.jp-InputArea-prompt').click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: 'Fix Error' });
    await expect(item).toHaveAttribute('aria-disabled', 'true');
    await page.keyboard.press('Escape');
    // That of the failing cell asks again: one proposal still
    await failing.locator('.jp-InputArea-prompt').click({ button: 'right' });
    await expect(item).not.toHaveAttribute('aria-disabled', 'true');
    await item.click();
    await expect(proposal).toHaveCount(1);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    // And the palette lists the command
    const labels = await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      return [
        app.commands.label('jupyter-codegen:fix'),
        app.commands.label('jupyter-codegen:edit')
      ];
    });
    expect(labels).toEqual(['Fix Error', 'Edit Code with an Instruction…']);
  });

  test('a failed request shows its error, and nothing to apply', async ({
    page
  }) => {
    await page.route(/\/jupyter-codegen\/fix/, route =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({
          message: 'The model is still loading',
          reason: 'Service Unavailable'
        })
      })
    );
    await notebookOf(page, TYPO);
    await runCells(page, [0, 1]);
    await (await errorOutput(page, 1)).locator(FIX_BUTTON).click();
    const proposal = page.locator(PROPOSAL);
    await expect(proposal).toHaveAttribute('data-state', 'error');
    await expect(proposal.locator('.jp-codegen-ProposalStatus')).toHaveText(
      'Error: The model is still loading'
    );
    await expect(proposal.locator('button[data-action="apply"]')).toBeHidden();
    await proposal.locator('button[data-action="discard"]').click();
    await expect(proposal).toHaveCount(0);
    expect(await sourcesOf(page)).toEqual(TYPO);
  });

  test('Stop cancels the fix on the server', async ({
    page,
    request,
    baseURL
  }) => {
    await notebookOf(page, ['slow_fix_please()']);
    await runCells(page, [0]);
    const sent = nextFixRequest(page);
    await (await errorOutput(page, 0)).locator(FIX_BUTTON).click();
    const requestId = (await sent).postDataJSON().request_id as string;
    const proposal = page.locator(PROPOSAL);
    // Once the diff has started to stream
    await expect(proposal.locator('.jp-codegen-DiffView')).toContainText(
      'value_0'
    );
    await expect(proposal).toHaveAttribute('data-state', 'streaming');
    await proposal.locator('button[data-action="stop"]').click();
    // Then it stops here, and Apply is not offered for a partial proposal
    await expect(proposal).toHaveAttribute('data-state', 'stopped');
    await expect(proposal.locator('button[data-action="apply"]')).toBeHidden();
    // And the server cancelled the generation (the reply runs for a minute)
    const record = await recordOf(request, baseURL!, requestId);
    expect(record.outcome).toBe('cancelled');
    expect(await sourcesOf(page)).toEqual(['slow_fix_please()']);
    await proposal.locator('button[data-action="discard"]').click();
    await expect(proposal).toHaveCount(0);
  });
});
