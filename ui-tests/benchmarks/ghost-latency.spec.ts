/**
 * How long ghost text takes to appear with the embedded model, from the last
 * keystroke to the first visible suggestion text. Not a test: it reports
 * numbers (ui-tests/benchmark-results/ghost-latency*.json): short cells, new
 * cells below a small analysis notebook, and the first line typed in a saved
 * notebook opened 3 s before (with the prefetch, and without it).
 *
 *   UI_SERVERS=embedded npx playwright test --project benchmark
 */
import {
  expect,
  galata,
  IJupyterLabPageFixture,
  test
} from '@jupyterlab/galata';
import { Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import {
  GHOST,
  notebookWith,
  saveNotebook,
  waitModelReady
} from '../tests/helpers';

const CASES = [
  ['import pandas as pd\n', 'df = pd.read_csv('],
  ['def mean(xs):\n    ', 'return '],
  ['values = [3, 1, 2]\n', 'ordered = sorted('],
  ['import numpy as np\n', 'grid = np.zeros('],
  ['names = ["a", "b"]\n', 'for i, name in enumerate(']
];

/** Code cells of a small analysis notebook (those of benchmarks/latency.py). */
const NOTEBOOK = [
  'import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt',
  "def load_sales(path):\n    df = pd.read_csv(path, parse_dates=['date'])\n    df = df.dropna(subset=['amount'])\n    df['month'] = df['date'].dt.to_period('M')\n    return df",
  "sales = load_sales('sales.csv')\nsales.head()",
  "monthly = (\n    sales.groupby(['month', 'region'])['amount']\n    .sum()\n    .unstack(fill_value=0)\n)\nmonthly.tail()",
  "def plot_region(monthly, region, ax=None):\n    ax = ax or plt.gca()\n    monthly[region].plot(ax=ax, marker='o')\n    ax.set_title(f'Sales in {region}')\n    ax.set_ylabel('amount')\n    return ax",
  'def zscore(values):\n    values = np.asarray(values, dtype=float)\n    return (values - values.mean()) / values.std()'
];

/** Lines typed into new cells below NOTEBOOK, one cell each. */
const NOTEBOOK_LINES = [
  "sales['z'] = sales.groupby('region')['amount'].transform(",
  "outliers = sales[sales['z'].abs() > ",
  'top = monthly.sum().sort_values(',
  "weekly = sales.set_index('date').resample(",
  'share = monthly.div(monthly.sum(axis=1), axis='
];

function summary(samples: number[]): Record<string, unknown> {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples_ms: samples,
    median_ms: sorted[Math.floor(sorted.length / 2)],
    max_ms: sorted[sorted.length - 1]
  };
}

function report(name: string, result: Record<string, unknown>): void {
  const out = path.join(__dirname, '..', 'benchmark-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, `${name}.json`),
    JSON.stringify(result, null, 1)
  );
  console.log(`${name}: ${JSON.stringify(result)}`);
}

/** Types `text` at the cursor; the milliseconds from its last key to ghost text. */
async function timeToGhost(page: Page, text: string): Promise<number> {
  await page.keyboard.type(text.slice(0, -1));
  const started = Date.now();
  await page.keyboard.type(text.slice(-1));
  await expect(page.locator(GHOST)).not.toHaveText('', { timeout: 120_000 });
  return Date.now() - started;
}

test.beforeEach(async ({ request, baseURL }) => {
  test.setTimeout(600_000);
  await waitModelReady(request, baseURL!, 600_000);
});

test('ghost text latency on the embedded model', async ({ page }) => {
  const samples: number[] = [];
  for (const [setup, typed] of CASES) {
    await notebookWith(page, [setup]);
    samples.push(await timeToGhost(page, typed));
    await page.keyboard.press('Escape');
  }
  report('ghost-latency', summary(samples));
});

test('ghost text latency in a notebook with context', async ({ page }) => {
  // The first line's request computes the whole notebook; the next ones, each
  // in a new cell below, find the cells above in the prompt cache.
  await notebookWith(page, [...NOTEBOOK, '']);
  const samples: number[] = [];
  for (const [i, line] of NOTEBOOK_LINES.entries()) {
    if (i > 0) {
      await page.keyboard.press('Escape'); // the suggestion, then command mode
      await page.notebook.addCell('code', '');
      await page.notebook.enterCellEditingMode(NOTEBOOK.length + i);
    }
    samples.push(await timeToGhost(page, line));
  }
  report('ghost-latency-notebook', {
    ...summary(samples.slice(1)),
    first_ms: samples[0]
  });
});

/** Wait between opening a notebook and typing in it (issue 20's "cold"). */
const OPEN_WAIT_MS = 3000;

/**
 * The first line typed in a saved copy of NOTEBOOK, with an empty cell last:
 * open it, click into that cell, wait OPEN_WAIT_MS, type `line`; the
 * milliseconds from its last key to ghost text. The first cell names the copy,
 * so that no copy's prompt starts like another's (nothing is cached).
 */
async function openWaitType(
  page: IJupyterLabPageFixture,
  file: string,
  line: string
): Promise<number> {
  const sources = [`# ${file}\n${NOTEBOOK[0]}`, ...NOTEBOOK.slice(1), ''];
  await saveNotebook(
    page,
    file,
    sources.map(source => ({ source }))
  );
  await page.filebrowser.open(file);
  await page.notebook.enterCellEditingMode(NOTEBOOK.length);
  await page.waitForTimeout(OPEN_WAIT_MS);
  const ms = await timeToGhost(page, line);
  await page.keyboard.press('Escape');
  await page.notebook.close(true);
  return ms;
}

for (const prefetch of [true, false]) {
  test.describe(`open, wait 3 s, type (prefetch ${prefetch ? 'on' : 'off'})`, () => {
    test.use({
      mockSettings: {
        ...galata.DEFAULT_SETTINGS,
        'jupyter-codegen:plugin': { prefetch }
      }
    });

    test('ghost text latency of the first line in an opened notebook', async ({
      page,
      tmpPath
    }) => {
      const samples: number[] = [];
      for (const [i, line] of NOTEBOOK_LINES.entries()) {
        const file = `${tmpPath}/opened-${prefetch ? 'on' : 'off'}-${i}.ipynb`;
        samples.push(await openWaitType(page, file, line));
      }
      report(`ghost-latency-opened-prefetch-${prefetch ? 'on' : 'off'}`, {
        ...summary(samples),
        wait_ms: OPEN_WAIT_MS
      });
    });
  });
}
