/**
 * What completion and Explain both read from JupyterLab: a notebook's cells as
 * context, and the user's settings. Shared, so both send the same context.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ISessionContext } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { liveNamespace, liveSource } from './kernelContext';
import { cellContext } from './request';
import type { IEditorSnapshot } from './request';
import type { ICellContext } from './types';

/** The settings plugin of `schema/plugin.json`. */
export const PLUGIN_ID = 'jupyter-codegen:plugin';

/** A notebook as request context. */
export interface INotebookCells {
  path: string;
  /** Every cell, in order. */
  cells: ICellContext[];
  /** The index of the active cell in `cells`. */
  active: number;
  /** The kernel's language, from `language_info` or else the kernelspec. */
  language?: string;
}

/**
 * The cells of `panel` as context. The active cell's text is `activeText`
 * when given: the editor's text can be ahead of the cell's model.
 */
export function notebookCells(
  panel: NotebookPanel,
  activeText?: string
): INotebookCells {
  const notebook = panel.content;
  const active = notebook.activeCellIndex;
  const cells = notebook.widgets.map((cell, i) =>
    cellContext(
      cell.model.type,
      i === active && activeText !== undefined
        ? activeText
        : cell.model.sharedModel.getSource()
    )
  );
  const info = panel.model?.getMetadata('language_info') as
    { name?: string } | undefined;
  const spec = panel.model?.getMetadata('kernelspec') as
    { language?: string } | undefined;
  return {
    path: panel.context.path,
    cells,
    active,
    language: info?.name || spec?.language
  };
}

/** The current notebook, when it is also the shell's current widget. */
export function currentNotebook(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker
): NotebookPanel | null {
  const panel = notebooks.currentWidget;
  return panel && panel === app.shell.currentWidget ? panel : null;
}

/** What is read from a code console (`ConsolePanel`), by its shape. */
interface IConsoleLike {
  console: {
    cells: { length: number; get(index: number): ICellLike };
    promptCell: ICellLike | null;
    sessionContext: ISessionContext;
  };
  sessionContext: ISessionContext;
}

interface ICellLike {
  model: { type: string; sharedModel: { getSource(): string } };
}

/** Is `widget` a code console panel? (no import of @jupyterlab/console) */
export function isConsolePanel(widget: unknown): widget is IConsoleLike {
  const candidate = widget as Partial<IConsoleLike> | null;
  return (
    !!candidate &&
    typeof candidate === 'object' &&
    !!candidate.console &&
    typeof candidate.console === 'object' &&
    'promptCell' in candidate.console &&
    !!candidate.console.cells &&
    typeof candidate.console.cells.get === 'function'
  );
}

/**
 * A code console as request context: its earlier inputs (the cells it ran,
 * in order) before the prompt cell, which is the active cell.
 */
export function consoleCells(
  panel: IConsoleLike,
  promptText: string
): INotebookCells {
  const cells: ICellContext[] = [];
  const ran = panel.console.cells;
  for (let i = 0; i < ran.length; i++) {
    const cell = ran.get(i);
    if (cell.model.type === 'code') {
      cells.push(cellContext('code', cell.model.sharedModel.getSource()));
    }
  }
  cells.push(cellContext('code', promptText));
  return { path: '', cells, active: cells.length - 1 };
}

/** The kernel session of a notebook or console, else null. */
export function sessionContextOf(widget: unknown): ISessionContext | null {
  if (widget instanceof NotebookPanel) {
    return widget.sessionContext;
  }
  if (isConsolePanel(widget)) {
    return widget.sessionContext ?? widget.console.sessionContext;
  }
  return null;
}

/**
 * The kernel's live variables for a completion in `snapshot` (only an idle
 * Python kernel is asked, see kernelContext.ts), or null when the widget has
 * no kernel or the snapshot no cells: then the request carries no namespace.
 * The completion provider and the prefetch both use it, so that they send
 * the same prompt.
 */
export function snapshotNamespace(
  widget: unknown,
  snapshot: IEditorSnapshot,
  enabled: boolean
): Promise<string> | null {
  const session = sessionContextOf(widget);
  if (!session || !snapshot.cells || snapshot.activeCell === undefined) {
    return null;
  }
  return liveNamespace(
    session,
    liveSource(snapshot.text, snapshot.cells, snapshot.activeCell),
    enabled
  );
}

/**
 * Calls `apply` with the plugin's composite settings once they are loaded and
 * whenever they change. Without a registry, or if loading fails, the caller's
 * defaults stay.
 */
export function watchSettings(
  registry: ISettingRegistry | null,
  apply: (composite: Record<string, any>) => void
): void {
  registry
    ?.load(PLUGIN_ID)
    .then(settings => {
      const update = () => apply(settings.composite as Record<string, any>);
      update();
      settings.changed.connect(update);
    })
    .catch(reason => {
      console.error('jupyter-codegen: could not load settings', reason);
    });
}
