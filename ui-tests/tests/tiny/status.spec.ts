import { expect, test } from '@jupyterlab/galata';

import { screenshot } from '../helpers';

test('the status item reaches ready and shows the details', async ({
  page
}) => {
  const item = page.locator('.jp-codegen-StatusItem');
  await expect(item).toHaveAttribute('data-state', 'ready', {
    timeout: 120_000
  });
  await expect(item).toContainText('jupyter-codegen-ui-tiny-model');
  await expect(item).toContainText('cpu');
  await item.click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Codegen model');
  await expect(dialog.locator('tr', { hasText: 'Device' })).toContainText(
    'cpu'
  );
  // quantize=auto: int8 weights on the CPU
  await expect(dialog.locator('tr', { hasText: 'Dtype' })).toContainText(
    'int8'
  );
  await expect(
    dialog.locator('tr', { hasText: 'Server memory' })
  ).toContainText('GiB');
  await screenshot(page, 'status-details');
  await dialog.getByRole('button', { name: 'Close' }).click();
});
