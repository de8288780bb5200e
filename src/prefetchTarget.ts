/**
 * What a prefetch is made for: the current notebook's active cell (or the
 * current file editor), its text, the cursor in it and its MIME type, as a
 * completion at the cursor would see them.
 */
import type { CodeEditor } from '@jupyterlab/codeeditor';
import { CompletionHandler } from '@jupyterlab/completer';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

/** The place a prefetch is made for. */
export interface IPrefetchTarget {
  widget: Widget;
  /** The active cell's (or file's) text, cursor and MIME type. */
  request: CompletionHandler.IRequest;
  cellType: string;
}

/** The cursor's offset in `editor`, or the end of `text` without an editor. */
function cursorOffset(
  editor: CodeEditor.IEditor | null | undefined,
  text: string
): number {
  if (!editor) {
    return text.length;
  }
  try {
    const offset = editor.getOffsetAt(editor.getCursorPosition());
    return Math.max(0, Math.min(text.length, offset));
  } catch {
    return text.length;
  }
}

/**
 * The active cell of `widget` when it is a notebook, or `widget` itself
 * when it is a file editor; null for anything else.
 */
export function prefetchTarget(
  widget: Widget | null,
  isFileEditor: (widget: Widget) => boolean
): IPrefetchTarget | null {
  if (!widget) {
    return null;
  }
  if (widget instanceof NotebookPanel) {
    const cell = widget.content.activeCell;
    if (!cell) {
      return null;
    }
    const text = cell.model.sharedModel.getSource();
    return {
      widget,
      request: {
        text,
        offset: cursorOffset(cell.editor, text),
        mimeType: cell.model.mimeType
      },
      cellType: cell.model.type
    };
  }
  if (isFileEditor(widget)) {
    const editor = (widget as any).content?.editor as
      CodeEditor.IEditor | undefined;
    if (!editor) {
      return null;
    }
    const text = editor.model.sharedModel.getSource();
    return {
      widget,
      request: {
        text,
        offset: cursorOffset(editor, text),
        mimeType: editor.model.mimeType
      },
      cellType: 'code'
    };
  }
  return null;
}
