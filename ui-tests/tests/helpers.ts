import { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { APIRequestContext, expect, Page, Request } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Ghost text shown by our provider. JupyterLab briefly adds two transient
 * spacer spans (same class and provider) while one multi-line suggestion
 * replaces another; they only hold height, so they are not the suggestion
 * and would make a locator match three elements.
 */
export const GHOST =
  '.jp-GhostText[data-provided-by="jupyter-codegen"]' +
  ':not(.jp-GhostText-lineSpacer):not(.jp-GhostText-letterSpacer)';

/**
 * The ghost text in `scope` once it has stopped changing ('' when none is
 * shown). The tiny model's weights are random: its final reply may drop what
 * it streamed (the parse gate), and which prompts it drops depends on the
 * CPU's arithmetic, so a spec that needs ghost text types on until one shows.
 */
export async function settledGhost(page: Page, scope = ''): Promise<string> {
  const ghost = page.locator(`${scope} ${GHOST}`.trim());
  let last: string | null = null;
  await expect
    .poll(
      async () => {
        const now = (await ghost.count()) ? await ghost.innerText() : '';
        const same = now === last;
        last = now;
        return same;
      },
      { intervals: [1000] }
    )
    .toBeTruthy();
  return last ?? '';
}

/**
 * Type `more` one character at a time, after what is already typed, until
 * ghost text in `scope` settles non-empty. Returns what was typed and the
 * ghost text shown ('' when none showed after the last character).
 */
export async function typeUntilGhost(
  page: Page,
  more: string,
  scope = ''
): Promise<{ typed: string; shown: string }> {
  let typed = '';
  let shown = await settledGhost(page, scope);
  for (const char of more) {
    if (shown) {
      break;
    }
    typed += char;
    await page.keyboard.type(char);
    shown = await settledGhost(page, scope);
  }
  return { typed, shown };
}

/** Screenshots are kept as test artifacts in ui-tests/screenshots/. */
export const SCREENSHOTS = path.join(__dirname, '..', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export interface IServerStatus {
  state: string;
  model: string;
  device: string | null;
  requests: {
    active: number;
    completed: number;
    cancelled: number;
    recent: {
      request_id: string;
      kind: string;
      outcome: string;
      generated_tokens: number;
      total_ms: number;
    }[];
  };
}

export async function serverStatus(
  request: APIRequestContext,
  baseURL: string
): Promise<IServerStatus> {
  const reply = await request.get(`${baseURL}/jupyter-codegen/status`);
  expect(reply.ok()).toBeTruthy();
  return (await reply.json()) as IServerStatus;
}

/**
 * Wait until the server has cancelled a request since its count was
 * `before`, and check that its latest request of `kind` is the cancelled one:
 * the server stopped generating, not just the page listening.
 */
export async function expectCancelledOnServer(
  request: APIRequestContext,
  baseURL: string,
  before: number,
  kind: string
): Promise<void> {
  await expect
    .poll(async () => (await serverStatus(request, baseURL)).requests.cancelled)
    .toBeGreaterThan(before);
  const recent = (await serverStatus(request, baseURL)).requests.recent;
  expect(recent.filter(r => r.kind === kind).pop()!.outcome).toBe('cancelled');
}

/** Choose "Explain Code" in cell `index`'s context menu. */
export async function explainFromContextMenu(
  page: IJupyterLabPageFixture,
  index: number
): Promise<void> {
  await page.notebook.leaveCellEditingMode(index);
  await (await page.notebook.getCellLocator(index))!.click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Explain Code' }).click();
}

/** Wait until the server's model has loaded (the embedded one may be converting). */
export async function waitModelReady(
  request: APIRequestContext,
  baseURL: string,
  timeout = 300_000
): Promise<void> {
  await expect
    .poll(async () => (await serverStatus(request, baseURL)).state, {
      timeout,
      intervals: [1000]
    })
    .toBe('ready');
}

/**
 * A new notebook whose first cells hold `cells` (code), with the cursor at
 * the end of the last one, in edit mode.
 */
export async function notebookWith(
  page: IJupyterLabPageFixture,
  cells: string[]
): Promise<void> {
  await page.notebook.createNew();
  for (let i = 0; i < cells.length; i++) {
    if (i > 0) {
      await page.notebook.addCell('code', cells[i]);
    } else {
      await page.notebook.setCell(0, 'code', cells[0]);
    }
  }
  const last = cells.length - 1;
  await page.notebook.enterCellEditingMode(last);
  await page.keyboard.press('Control+End');
}

/** The source of cell `index`, read from the notebook model. */
export async function cellSource(page: Page, index: number): Promise<string> {
  return page.evaluate(i => {
    const app = (window as any).jupyterapp;
    const panel = app.shell.currentWidget;
    return panel.content.widgets[i].model.sharedModel.getSource() as string;
  }, index);
}

/** Whether `r` is a POST to the extension's `route` (JupyterLab adds a cache buster to the URL). */
export function isPost(r: Request, route: string): boolean {
  const path = new URL(r.url()).pathname;
  return path.endsWith(`/jupyter-codegen/${route}`) && r.method() === 'POST';
}

/** Every POST to the extension's `route` that the page sends, as they come. */
export function watchPosts(page: Page, route: string): Request[] {
  const sent: Request[] = [];
  page.on('request', r => {
    if (isPost(r, route)) {
      sent.push(r);
    }
  });
  return sent;
}

/**
 * Save a Python notebook of `cells` (code cells; each may set any field, such
 * as outputs) at `file`, to be opened as a user opens a saved one.
 */
export async function saveNotebook(
  page: IJupyterLabPageFixture,
  file: string,
  cells: Record<string, unknown>[]
): Promise<void> {
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3',
        language: 'python'
      }
    },
    cells: cells.map((cell, i) => ({
      cell_type: 'code',
      id: `cell-${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      ...cell
    }))
  };
  await page.contents.uploadContent(JSON.stringify(notebook), 'text', file);
}
