/**
 * What completion and Explain both read from JupyterLab: a notebook's cells as
 * context, and the user's settings. Shared, so both send the same context.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { cellContext } from './request';
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
