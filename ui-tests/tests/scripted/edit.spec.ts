import { expect, test } from '@jupyterlab/galata';
import { Page, Request } from '@playwright/test';

import { cellSource, screenshot, waitModelReady } from '../helpers';
import {
  focusEditor,
  notebookOf,
  PROPOSAL,
  recordOf,
  SCRIPTED_URL,
  sourcesOf,
  undoInCell,
  watchProposal
} from './proposals';

test.use({ baseURL: SCRIPTED_URL });

/** The body of the next `POST /edit` the page sends. */
function nextEditRequest(page: Page): Promise<Request> {
  return page.waitForRequest(
    r => r.url().includes('/jupyter-codegen/edit') && r.method() === 'POST'
  );
}

/** Select from (line, column) to (line, column) in the active cell's editor. */
async function select(
  page: Page,
  start: [number, number],
  end: [number, number]
): Promise<void> {
  await page.evaluate(
    ([a, b]) => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      panel.content.activeCell.editor.setSelection({
        start: { line: a[0], column: a[1] },
        end: { line: b[0], column: b[1] }
      });
    },
    [start, end]
  );
}

/** Answer the instruction dialog. */
async function instruct(page: Page, instruction: string): Promise<void> {
  const input = page.locator('.jp-Dialog input');
  await expect(input).toBeVisible();
  await input.fill(instruction);
  await page.keyboard.press('Enter');
}

const LOOP =
  'xs = [1, 2, 3]\ntotal = 0\nfor x in xs:\n    total += x\nprint(total)';
const ADD = 'def add(a, b):\n    return a + b';

test.describe('Edit code with an instruction (scripted model)', () => {
  test.beforeEach(async ({ request, baseURL }) => {
    await waitModelReady(request, baseURL!);
  });

  test('Accel+K on a selection streams the rewrite as a diff over it; Apply is one undo step', async ({
    page
  }) => {
    await notebookOf(page, [LOOP]);
    await focusEditor(page, 0);
    // Given lines 2-4 (the loop) selected
    await select(page, [1, 0], [3, 14]);
    await page.keyboard.press('Control+k');
    const sent = nextEditRequest(page);
    await instruct(page, 'use sum()');
    const body = (await sent).postDataJSON();
    // Then the request names the selection by its offsets in the cell
    expect(body.cell).toBe(LOOP);
    expect(body.selection).toEqual({ start: 15, end: 52 });
    expect(body.instruction).toBe('use sum()');
    expect(body.stream).toBe(true);
    expect(body.request_id).toMatch(/^codegen-edit-/);
    // And the rewrite streams in as a diff over the selection
    const proposal = page.locator(PROPOSAL);
    const seen = await watchProposal(page);
    expect(seen.length).toBeGreaterThan(1);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    expect(await cellSource(page, 0)).toBe(LOOP);
    const diff = proposal.locator('.jp-codegen-ProposalDiff');
    await expect(diff.locator('.jp-codegen-ProposalDiffLabel')).toHaveText(
      'Selection (line 2–4)'
    );
    await expect(diff.locator('.cm-changedLine')).toHaveText([
      'total = sum(xs)'
    ]);
    await expect(diff.locator('.cm-deletedChunk')).toContainText('total += x');
    await expect(proposal.locator('.jp-codegen-ProposalWarning')).toBeHidden();
    await screenshot(page, 'edit-proposal');
    // When it is applied, only the selection changed
    await proposal.locator('button[data-action="apply"]').click();
    await expect(proposal).toHaveCount(0);
    expect(await cellSource(page, 0)).toBe(
      'xs = [1, 2, 3]\ntotal = sum(xs)\nprint(total)'
    );
    // And one undo brings the loop back
    await undoInCell(page, 0);
    expect(await cellSource(page, 0)).toBe(LOOP);
  });

  test('without a selection the whole cell is rewritten; Discard leaves it as it was', async ({
    page
  }) => {
    await notebookOf(page, [ADD]);
    // From the cell's context menu, nothing selected
    const cell = (await page.notebook.getCellLocator(0))!;
    await cell.locator('.jp-InputArea-prompt').click({ button: 'right' });
    const sent = nextEditRequest(page);
    await page
      .getByRole('menuitem', { name: 'Edit Code with an Instruction…' })
      .click();
    await instruct(page, 'add type hints');
    const body = (await sent).postDataJSON();
    expect(body.selection).toBeNull();
    const proposal = page.locator(PROPOSAL);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    const diff = proposal.locator('.jp-codegen-ProposalDiff');
    await expect(diff.locator('.jp-codegen-ProposalDiffLabel')).toHaveText(
      'This cell'
    );
    await expect(diff.locator('.cm-changedLine')).toContainText(
      'def add(a: int, b: int) -> int:'
    );
    // Discard: the cell is as it was, and nothing is left to undo
    await proposal.locator('button[data-action="discard"]').click();
    await expect(proposal).toHaveCount(0);
    expect(await sourcesOf(page)).toEqual([ADD]);
    await undoInCell(page, 0);
    expect(await cellSource(page, 0)).toBe(ADD);
  });

  test('a rewrite that does not parse is flagged, and Apply is not offered', async ({
    page
  }) => {
    await notebookOf(page, [ADD]);
    await focusEditor(page, 0);
    await page.keyboard.press('Control+k');
    await instruct(page, 'break it');
    const proposal = page.locator(PROPOSAL);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    const warning = proposal.locator('.jp-codegen-ProposalWarning');
    await expect(warning).toBeVisible();
    await expect(warning).toContainText('does not parse');
    const apply = proposal.locator('button[data-action="apply"]');
    await expect(apply).toBeDisabled();
    await screenshot(page, 'edit-does-not-parse');
    // Only when asked for, Apply is offered
    await warning.locator('button[data-action="warning-action"]').click();
    await expect(apply).toBeEnabled();
    await proposal.locator('button[data-action="discard"]').click();
    expect(await sourcesOf(page)).toEqual([ADD]);
  });

  test('Revert keeps one change of a rewrite out of what Apply puts in', async ({
    page
  }) => {
    const cell = 'a = 1\nb = 2\nc = 3\nd = 4\ne = 5';
    await notebookOf(page, [cell]);
    await focusEditor(page, 0);
    await page.keyboard.press('Control+k');
    await instruct(page, 'rename a and e');
    const proposal = page.locator(PROPOSAL);
    await expect(proposal).toHaveAttribute('data-state', 'done');
    // Two changes, each with its Revert button
    const revert = proposal.locator('button[data-action="revert-change"]');
    await expect(revert).toHaveCount(2);
    await expect(proposal.locator('.cm-changedLine')).toHaveText([
      'first = 1',
      'last = 5'
    ]);
    // When the first is reverted, then the rest applied
    await revert.first().click();
    await expect(proposal.locator('.cm-changedLine')).toHaveText(['last = 5']);
    await proposal.locator('button[data-action="apply"]').click();
    await expect(proposal).toHaveCount(0);
    expect(await cellSource(page, 0)).toBe(
      'a = 1\nb = 2\nc = 3\nd = 4\nlast = 5'
    );
    // And one undo takes it out
    await undoInCell(page, 0);
    expect(await cellSource(page, 0)).toBe(cell);
  });

  test('Escape stops the rewrite and cancels it on the server', async ({
    page,
    request,
    baseURL
  }) => {
    await notebookOf(page, ['a = 1']);
    await focusEditor(page, 0);
    await page.keyboard.press('Control+k');
    const sent = nextEditRequest(page);
    await instruct(page, 'rewrite it slowly');
    const requestId = (await sent).postDataJSON().request_id as string;
    const proposal = page.locator(PROPOSAL);
    await expect(proposal.locator('.jp-codegen-DiffView')).toContainText(
      'step_0'
    );
    await expect(proposal).toHaveAttribute('data-state', 'streaming');
    // Escape in the notebook (the cell's editor) stops it
    await focusEditor(page, 0);
    await page.keyboard.press('Escape');
    await expect(proposal).toHaveAttribute('data-state', 'stopped');
    await expect(proposal.locator('button[data-action="apply"]')).toBeHidden();
    const record = await recordOf(request, baseURL!, requestId);
    expect(record.outcome).toBe('cancelled');
    expect(await sourcesOf(page)).toEqual(['a = 1']);
  });
});
