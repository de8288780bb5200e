/**
 * Which error a fix is for: a code cell of a notebook and the index of its
 * error output, named by a command's arguments or found from the active cell.
 */
import { Cell, CodeCell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

/** Where a fix is asked for: a code cell and the index of its error output. */
export interface IFixTarget {
  panel: NotebookPanel;
  cell: CodeCell;
  output: number;
}

/** The index of the last error output of a code cell, or -1. */
function errorOutputIndex(cell: Cell): number {
  if (!(cell instanceof CodeCell)) {
    return -1;
  }
  const outputs = cell.model.outputs;
  for (let i = outputs.length - 1; i >= 0; i--) {
    if (outputs.get(i).type === 'error') {
      return i;
    }
  }
  return -1;
}

/**
 * The active cell's error, or else (unless `activeOnly`: the context menu of
 * a cell) the nearest error above it.
 */
export function fixTargetIn(
  panel: NotebookPanel | null,
  activeOnly: boolean
): IFixTarget | null {
  if (!panel) {
    return null;
  }
  const notebook = panel.content;
  const last = activeOnly ? notebook.activeCellIndex : 0;
  for (let i = notebook.activeCellIndex; i >= last && i >= 0; i--) {
    const cell = notebook.widgets[i];
    const output = cell ? errorOutputIndex(cell) : -1;
    if (output >= 0) {
      return { panel, cell: cell as CodeCell, output };
    }
  }
  return null;
}

/**
 * The cell a command's arguments name (by its id), else the active cell's
 * error in the `current` notebook or the nearest above it (`activeOnly`:
 * the active cell's).
 */
export function fixTargetOf(
  args: Record<string, unknown>,
  notebooks: INotebookTracker,
  current: () => NotebookPanel | null
): IFixTarget | null {
  if (typeof args.cellId === 'string') {
    let found: IFixTarget | null = null;
    notebooks.forEach(panel => {
      const cell = panel.content.widgets.find(w => w.model.id === args.cellId);
      if (!found && cell instanceof CodeCell) {
        const output =
          typeof args.output === 'number'
            ? args.output
            : errorOutputIndex(cell);
        if (output >= 0 && output < cell.model.outputs.length) {
          found = { panel, cell, output };
        }
      }
    });
    return found;
  }
  return fixTargetIn(current(), args.activeOnly === true);
}
