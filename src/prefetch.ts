/**
 * Prefetch: warm the model's prompt cache for the cell the user is on, so
 * that the first keystroke there does not wait for the whole context.
 *
 * When a notebook (or a file editor) becomes current, or the active cell
 * changes, and after `PREFETCH_DEBOUNCE_MS` of quiet, the request that a
 * completion at the cell's cursor would send (built exactly as the provider
 * builds it) goes to `POST /jupyter-codegen/prefetch`. The server computes
 * its prompt up to the cursor at low priority: only on an idle model, and any
 * real request stops it within one layer; once it is done, the explanation
 * Explain Code would ask for goes to `POST /jupyter-codegen/prefetch/explain`
 * the same way. Each document has one request id,
 * so a newer prefetch supersedes the older one; the older fetch is aborted.
 *
 * Nothing is sent when the `prefetch` setting or inline completions are off,
 * the cell is not code, the same prompt was just completed or prefetched,
 * the device saves battery or data, or the model is not ready or busy. A
 * failed prefetch is silent (a debug log line).
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IEditorTracker } from '@jupyterlab/fileeditor';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { PROVIDER_ID, readSettings } from './completion';
import { explainTarget } from './explain';
import { watchSettings } from './notebook';
import { debug, Prefetcher } from './prefetcher';
import { providerEnabledIn } from './prefetchRules';

/** The settings plugin of JupyterLab's inline completer. */
const INLINE_COMPLETER_PLUGIN =
  '@jupyterlab/completer-extension:inline-completer';

/**
 * Prefetches for the current notebook's active cell (and the current file
 * editor), following the user's settings.
 */
export const prefetchPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:prefetch',
  description:
    'Warms the model’s prompt cache for the active cell before the first keystroke.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, IEditorTracker, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    editors: IEditorTracker | null,
    labShell: ILabShell | null
  ) => {
    const prefetcher = new Prefetcher(
      () => app.shell.currentWidget ?? notebooks.currentWidget,
      widget => !!editors && editors.has(widget),
      widget => explainTarget(widget, notebooks, editors)?.request ?? null
    );
    const schedule = () => prefetcher.schedule();
    notebooks.currentChanged.connect(schedule);
    notebooks.activeCellChanged.connect(schedule);
    editors?.currentChanged.connect(schedule);
    labShell?.currentChanged.connect(schedule);

    watchSettings(settingRegistry, composite => {
      prefetcher.settings = readSettings(composite);
      prefetcher.prefetch = composite.prefetch !== false;
    });
    settingRegistry
      ?.load(INLINE_COMPLETER_PLUGIN)
      .then(settings => {
        const update = () => {
          prefetcher.providerEnabled = providerEnabledIn(
            settings.composite as Record<string, any>,
            PROVIDER_ID
          );
        };
        update();
        settings.changed.connect(update);
      })
      .catch(reason => debug('no inline completer settings', reason));
  }
};
