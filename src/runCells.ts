/**
 * Running some of a notebook's code cells again, in notebook order, as the
 * notebook's own Run does (after a fix is applied with "Re-run" checked).
 */
import { CodeCell } from '@jupyterlab/cells';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import type { ISharedCell } from '@jupyter/ydoc';

/** Run the code cells of `panel` whose shared models are in `shared`. */
export async function runCells(
  panel: NotebookPanel,
  shared: ISharedCell[]
): Promise<void> {
  const wanted = new Set(shared);
  const cells = panel.content.widgets.filter(
    w => w.model.type === 'code' && wanted.has(w.model.sharedModel)
  );
  if (!cells.length || panel.isDisposed) {
    return;
  }
  const actions = NotebookActions as unknown as {
    runCells?: typeof NotebookActions.runCells;
  };
  if (actions.runCells) {
    await actions.runCells(panel.content, cells, panel.sessionContext);
    return;
  }
  for (const cell of cells) {
    await CodeCell.execute(cell as CodeCell, panel.sessionContext);
  }
}
