import { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { APIRequestContext, expect, Locator, Page } from '@playwright/test';

import { IServerStatus, serverStatus } from '../helpers';

/**
 * The scripted server: jupyter-codegen's remote engine on scripted_chat.py,
 * whose canned replies the tests below can predict. Its spec files run in
 * the tiny project with this as their baseURL.
 */
export const SCRIPTED_URL = `http://localhost:${
  process.env.UI_PORT_SCRIPTED || 8890
}`;

export const PROPOSAL = '.jp-codegen-Proposal';
export const FIX_BUTTON = '.jp-codegen-FixButton';

/** A new notebook whose code cells hold `sources` (set in the model: no auto-indent). */
export async function notebookOf(
  page: IJupyterLabPageFixture,
  sources: string[]
): Promise<void> {
  await page.notebook.createNew();
  await page.evaluate(cells => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    const model = panel.content.model.sharedModel;
    model.transact(() => {
      model.deleteCellRange(0, model.cells.length);
      model.insertCells(
        0,
        cells.map(source => ({ cell_type: 'code', source }))
      );
    });
  }, sources);
  await expect
    .poll(async () => (await sourcesOf(page)).length)
    .toBe(sources.length);
}

/** The sources of every cell of the current notebook. */
export async function sourcesOf(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    return panel.content.widgets.map((c: any) =>
      c.model.sharedModel.getSource()
    ) as string[];
  });
}

/** Run cells `indices` one after the other, staying on each. */
export async function runCells(
  page: IJupyterLabPageFixture,
  indices: number[]
): Promise<void> {
  for (const index of indices) {
    await page.notebook.runCell(index, { inplace: true });
  }
}

/** The cell's error output (rendered), after it ran. */
export async function errorOutput(
  page: IJupyterLabPageFixture,
  index: number
): Promise<Locator> {
  const cell = (await page.notebook.getCellLocator(index))!;
  return cell.locator('.jp-OutputArea-child').filter({
    has: page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
  });
}

/**
 * The distinct texts the proposal shows (its explanation and diffs) until it
 * leaves the streaming state.
 */
export async function watchProposal(page: Page): Promise<string[]> {
  const seen: string[] = [];
  const proposal = page.locator(PROPOSAL);
  for (let i = 0; i < 2000; i++) {
    const state = await proposal.getAttribute('data-state');
    const text = await proposal.evaluate(node =>
      [
        node.querySelector('.jp-codegen-ProposalExplanation')?.textContent,
        ...[...node.querySelectorAll('.jp-codegen-DiffView .cm-content')].map(
          n => n.textContent
        )
      ].join('\n')
    );
    if (text.trim() && seen[seen.length - 1] !== text) {
      seen.push(text);
    }
    if (state !== 'streaming') {
      break;
    }
    await page.waitForTimeout(25);
  }
  return seen;
}

/** Click into cell `index`'s editor: edit mode, the keyboard focus there. */
export async function focusEditor(
  page: IJupyterLabPageFixture,
  index: number
): Promise<void> {
  const cell = (await page.notebook.getCellLocator(index))!;
  await cell.locator('.jp-InputArea-editor .cm-content').click();
  await expect(cell.locator('.jp-InputArea-editor .cm-content')).toBeFocused();
}

/** Undo once in cell `index`'s editor (Ctrl+Z, as a user would). */
export async function undoInCell(
  page: IJupyterLabPageFixture,
  index: number
): Promise<void> {
  await focusEditor(page, index);
  await page.keyboard.press('Control+z');
  await page.notebook.leaveCellEditingMode(index);
}

/** The server's record of the request `requestId`, once it has finished. */
export async function recordOf(
  request: APIRequestContext,
  baseURL: string,
  requestId: string
): Promise<{ request_id: string; outcome: string; generated_tokens: number }> {
  let found: IServerStatus['requests']['recent'][number] | undefined;
  await expect
    .poll(
      async () => {
        const { recent } = (await serverStatus(request, baseURL)).requests;
        found = recent.find(r => r.request_id === requestId);
        return found?.outcome ?? null;
      },
      { timeout: 30_000 }
    )
    .not.toBeNull();
  return found!;
}
