/**
 * What a fix asks with, read from the notebook and its kernel: the
 * notebook's cells in order, the kernel's live variables (those on the
 * failing lines first) and the kernel's language, made into the request by
 * `buildFixRequest` (fixText.ts); and the language support that highlights
 * the proposal's diffs.
 */
import { CodeCell } from '@jupyterlab/cells';
import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { NotebookPanel } from '@jupyterlab/notebook';
import type { ISharedCell } from '@jupyter/ydoc';
import type { Extension } from '@codemirror/state';

import { buildFixRequest, fixLiveSource, IFixBody } from './fixText';
import { liveNamespace } from './kernelContext';
import { languageSupport } from './proposalDiffs';
import { cellContext } from './request';
import type { IKernelError } from './wire.generated';

/** How long a fix waits for the kernel's live variables (ms). */
const FIX_LIVE_TIMEOUT_MS = 2000;

/** The settings a fix request is built with (read when they are needed). */
export interface IFixRequestSettings {
  maxTokens: number;
  liveContext: boolean;
}

/** A fix ready to be asked for. */
export interface IPreparedFix {
  body: IFixBody;
  /** The notebook index of the failing cell. */
  failing: number;
  /** The notebook's cells (shared models) when the fix was asked for. */
  cells: ISharedCell[];
  /** The cells' language support, for highlighting in the diffs. */
  language: Extension | null;
}

/**
 * The request for a fix of `error`, raised by `cell` of `panel`; null when
 * the cell is not in the notebook, or the notebook or the cell is gone by
 * the time the kernel has answered.
 */
export async function prepareFix(
  panel: NotebookPanel,
  cell: CodeCell,
  error: IKernelError,
  settings: IFixRequestSettings,
  languages: IEditorLanguageRegistry | null
): Promise<IPreparedFix | null> {
  const widgets = panel.content.widgets;
  const failing = widgets.indexOf(cell);
  if (failing < 0) {
    return null;
  }
  const shared = widgets.map(w => w.model.sharedModel as ISharedCell);
  const cells = widgets.map(w =>
    cellContext(w.model.type, w.model.sharedModel.getSource())
  );
  const info = panel.model?.getMetadata('language_info') as
    { name?: string } | undefined;
  const spec = panel.model?.getMetadata('kernelspec') as
    { language?: string } | undefined;
  const [namespace, language] = await Promise.all([
    liveNamespace(
      panel.sessionContext,
      fixLiveSource(error, cells, failing),
      settings.liveContext,
      FIX_LIVE_TIMEOUT_MS
    ).catch(() => ''),
    languageSupport(
      languages,
      panel.content.codeMimetype,
      info?.name || spec?.language
    )
  ]);
  if (panel.isDisposed || cell.isDisposed) {
    return null;
  }
  const body = buildFixRequest({
    cells,
    active: failing,
    error,
    language: info?.name || spec?.language,
    namespace,
    maxTokens: settings.maxTokens
  });
  return { body, failing, cells: shared, language };
}
