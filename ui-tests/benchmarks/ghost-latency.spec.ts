/**
 * How long ghost text takes to appear with the embedded model, from the last
 * keystroke to the first visible suggestion text. Not a test: it reports
 * numbers (ui-tests/benchmark-results/ghost-latency.json).
 *
 *   UI_SERVERS=embedded npx playwright test --project benchmark
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import { GHOST, notebookWith, waitModelReady } from '../tests/helpers';

const CASES = [
  ['import pandas as pd\n', 'df = pd.read_csv('],
  ['def mean(xs):\n    ', 'return '],
  ['values = [3, 1, 2]\n', 'ordered = sorted('],
  ['import numpy as np\n', 'grid = np.zeros('],
  ['names = ["a", "b"]\n', 'for i, name in enumerate(']
];

test('ghost text latency on the embedded model', async ({
  page,
  request,
  baseURL
}) => {
  test.setTimeout(600_000);
  await waitModelReady(request, baseURL!, 600_000);
  const samples: number[] = [];
  for (const [setup, typed] of CASES) {
    await notebookWith(page, [setup]);
    await page.keyboard.type(typed.slice(0, -1));
    const started = Date.now();
    await page.keyboard.type(typed.slice(-1));
    await expect(page.locator(GHOST)).not.toHaveText('', { timeout: 120_000 });
    samples.push(Date.now() - started);
    await page.keyboard.press('Escape');
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const result = {
    samples_ms: samples,
    median_ms: sorted[Math.floor(sorted.length / 2)],
    max_ms: sorted[sorted.length - 1]
  };
  const out = path.join(__dirname, '..', 'benchmark-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, 'ghost-latency.json'),
    JSON.stringify(result, null, 1)
  );
  console.log(`ghost text latency: ${JSON.stringify(result)}`);
});
