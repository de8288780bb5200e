/**
 * What an edit is asked for: the selection of the cell's editor (or none:
 * the whole cell), and the instruction, asked for in a dialog.
 */
import { InputDialog } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { TranslationBundle } from '@jupyterlab/translation';

import { MAX_INSTRUCTION_CHARS, normalSelection } from './editText';
import type { ISelection } from './wire.generated';

/** The selection of a cell's editor as offsets, or null when none. */
export function cellSelection(cell: Cell, text: string): ISelection | null {
  const editor = cell.editor;
  if (!editor) {
    return null;
  }
  const { start, end } = editor.getSelection();
  return normalSelection(text, {
    start: editor.getOffsetAt(start),
    end: editor.getOffsetAt(end)
  });
}

/** Ask what to change. */
export async function askInstruction(
  trans: TranslationBundle,
  selected: boolean
): Promise<string | null> {
  const result = await InputDialog.getText({
    title: trans.__('Edit code'),
    label: selected
      ? trans.__('What should change in the selection?')
      : trans.__('What should change in the cell?'),
    placeholder: trans.__('e.g. vectorize this loop, add type hints'),
    okLabel: trans.__('Rewrite')
  });
  const value = result.button.accept ? (result.value ?? '').trim() : '';
  return value ? value.slice(0, MAX_INSTRUCTION_CHARS) : null;
}
