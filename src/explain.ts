/**
 * The "Explain code" command: in the cell context menu, the editor context
 * menu (for a selection), the command palette, and on Accel+Shift+Y. It
 * explains the selection, or else the active cell (or file), in the Explain
 * side panel, whose question box asks about it (and follow-ups).
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { CodeEditor } from '@jupyterlab/codeeditor';
import { IEditorTracker } from '@jupyterlab/fileeditor';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Widget } from '@lumino/widgets';

import { IExplainRequest } from './api';
import { ExplainPanel } from './explainPanel';
import { notebookCells, watchSettings } from './notebook';
import { clipCells, languageFromMime, MAX_CONTEXT_CHARS } from './request';

export const EXPLAIN_COMMAND = 'jupyter-codegen:explain';
export const ASK_COMMAND = 'jupyter-codegen:ask';

/** The selected text of an editor, or '' when nothing is selected. */
function selectedText(editor: CodeEditor.IEditor | null | undefined): string {
  if (!editor) {
    return '';
  }
  const { start, end } = editor.getSelection();
  if (start.line === end.line && start.column === end.column) {
    return '';
  }
  const from = editor.getOffsetAt(start);
  const to = editor.getOffsetAt(end);
  return editor.model.sharedModel
    .getSource()
    .slice(Math.min(from, to), Math.max(from, to));
}

/** What to explain in `widget`, or null when it holds no code. */
export function explainTarget(
  widget: Widget | null,
  notebooks: INotebookTracker,
  editors: IEditorTracker | null
): { path: string; request: IExplainRequest } | null {
  if (widget instanceof NotebookPanel && widget === notebooks.currentWidget) {
    const notebook = widget.content;
    const cell = notebook.activeCell;
    if (!cell) {
      return null;
    }
    const code =
      selectedText(cell.editor) || cell.model.sharedModel.getSource();
    if (!code.trim()) {
      return null;
    }
    const context = notebookCells(widget);
    return {
      path: context.path,
      request: {
        code,
        cells_before: clipCells(
          context.cells.slice(0, context.active),
          MAX_CONTEXT_CHARS,
          true
        ),
        language: context.language || 'python'
      }
    };
  }
  const editorWidget = editors?.currentWidget;
  if (editorWidget && widget === editorWidget) {
    const editor = editorWidget.content.editor;
    const code = selectedText(editor) || editor.model.sharedModel.getSource();
    if (!code.trim()) {
      return null;
    }
    return {
      path: editorWidget.context.path,
      request: { code, language: languageFromMime(editor.model.mimeType) }
    };
  }
  return null;
}

export const explainPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:explain',
  description: 'Explain code with the local model, in a side panel.',
  autoStart: true,
  requires: [IRenderMimeRegistry, INotebookTracker],
  optional: [IEditorTracker, ICommandPalette, ISettingRegistry, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    notebooks: INotebookTracker,
    editors: IEditorTracker | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    labShell: ILabShell | null
  ) => {
    let panel: ExplainPanel | null = null;
    let maxTokens = 512;
    watchSettings(settingRegistry, composite => {
      maxTokens = (composite.explainMaxTokens as number) ?? 512;
    });

    const openPanel = (): ExplainPanel => {
      if (!panel || panel.isDisposed) {
        panel = new ExplainPanel(rendermime, () => {
          const target = explainTarget(
            app.shell.currentWidget,
            notebooks,
            editors
          );
          return (
            target && {
              path: target.path,
              request: { ...target.request, max_tokens: maxTokens }
            }
          );
        });
        app.shell.add(panel, 'right', { rank: 900 });
      }
      app.shell.activateById(panel.id);
      return panel;
    };

    labShell?.currentChanged.connect(() => {
      const current = labShell.currentWidget as any;
      if (panel && !panel.isDisposed && current?.context?.path) {
        panel.setDocument(current.context.path);
      }
    });

    app.commands.addCommand(EXPLAIN_COMMAND, {
      label: 'Explain Code',
      caption:
        'Explain the selection, or the active cell, with the local code model',
      isEnabled: () =>
        explainTarget(app.shell.currentWidget, notebooks, editors) !== null,
      execute: async () => {
        const target = explainTarget(
          app.shell.currentWidget,
          notebooks,
          editors
        );
        if (!target) {
          return;
        }
        await openPanel().explain(target.path, {
          ...target.request,
          max_tokens: maxTokens
        });
      }
    });

    app.commands.addCommand(ASK_COMMAND, {
      label: 'Ask About Code…',
      caption:
        'Ask the local code model about the selection, or the active cell, in the Explain panel',
      execute: () => {
        const target = explainTarget(
          app.shell.currentWidget,
          notebooks,
          editors
        );
        const explainPanel = openPanel();
        if (target) {
          explainPanel.setDocument(target.path);
        }
        explainPanel.focusQuestion();
      }
    });

    app.contextMenu.addItem({
      command: EXPLAIN_COMMAND,
      selector: '.jp-Notebook .jp-Cell',
      rank: 60
    });
    app.contextMenu.addItem({
      command: ASK_COMMAND,
      selector: '.jp-Notebook .jp-Cell',
      rank: 60
    });
    app.contextMenu.addItem({
      command: ASK_COMMAND,
      selector: '.jp-FileEditor',
      rank: 60
    });
    app.contextMenu.addItem({
      command: EXPLAIN_COMMAND,
      selector: '.jp-FileEditor',
      rank: 60
    });
    palette?.addItem({ command: EXPLAIN_COMMAND, category: 'Codegen' });
    palette?.addItem({ command: ASK_COMMAND, category: 'Codegen' });
  }
};
