/**
 * The Fix buttons: one beside each error output of the notebooks' code
 * cells, kept up to date as outputs come and go.
 */
import { CodeCell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';

/** The class of the Fix button on an error output. */
export const FIX_BUTTON_CLASS = 'jp-codegen-FixButton';

/**
 * The Fix buttons: one beside each error output of the notebooks' code
 * cells, kept up to date as outputs come and go.
 */
export class FixButtons {
  private _hooked = new WeakSet<CodeCell>();
  private _buttons = new WeakMap<Widget, Widget>();

  constructor(
    private _onFix: (
      panel: NotebookPanel,
      cell: CodeCell,
      output: number
    ) => void,
    private _trans: TranslationBundle,
    private _keys: () => string,
    /** An error output appeared (not one the cell held when first seen). */
    private _onNewError: (
      panel: NotebookPanel,
      cell: CodeCell,
      output: number
    ) => void = () => undefined
  ) {}

  /** Decorate the cells of `panel`, now and as cells are added. */
  watch(panel: NotebookPanel): void {
    const notebook = panel.content;
    const scan = () => {
      for (const cell of notebook.widgets) {
        if (cell instanceof CodeCell) {
          this._hook(panel, cell);
        }
      }
    };
    let model: typeof notebook.model = null;
    const follow = () => {
      model?.cells.changed.disconnect(later);
      model = notebook.model;
      model?.cells.changed.connect(later);
      scan();
    };
    // After the notebook has made the new cells' widgets.
    const later = () => requestAnimationFrame(scan);
    notebook.modelChanged.connect(follow);
    follow();
    void panel.context.ready.then(scan);
  }

  private _hook(panel: NotebookPanel, cell: CodeCell): void {
    if (this._hooked.has(cell) || cell.isDisposed) {
      return;
    }
    this._hooked.add(cell);
    const update = () => this._decorate(panel, cell, true);
    cell.outputArea.outputLengthChanged.connect(update);
    cell.model.outputs.changed.connect(() => requestAnimationFrame(update));
    this._decorate(panel, cell, false);
  }

  /**
   * A button on each error output of `cell`, and on no other output; `fresh`:
   * the outputs changed since the cell was first seen.
   */
  private _decorate(
    panel: NotebookPanel,
    cell: CodeCell,
    fresh: boolean
  ): void {
    if (cell.isDisposed) {
      return;
    }
    const area = cell.outputArea;
    const outputs = cell.model.outputs;
    area.widgets.forEach((child, index) => {
      const isError =
        child instanceof Panel &&
        child.hasClass('jp-OutputArea-child') &&
        index < outputs.length &&
        outputs.get(index).type === 'error';
      const button = this._buttons.get(child);
      if (isError && (!button || button.isDisposed)) {
        const widget = this._button(panel, cell, child as Panel);
        (child as Panel).addWidget(widget);
        this._buttons.set(child, widget);
        if (fresh) {
          this._onNewError(panel, cell, index);
        }
      } else if (!isError && button) {
        button.dispose();
        this._buttons.delete(child);
      }
    });
  }

  private _button(panel: NotebookPanel, cell: CodeCell, child: Panel): Widget {
    const trans = this._trans;
    const button = document.createElement('button');
    button.className = `jp-Button jp-mod-styled ${FIX_BUTTON_CLASS}`;
    button.dataset.action = 'fix-error';
    button.textContent = trans.__('Fix');
    const keys = this._keys();
    button.title = keys
      ? trans.__('Propose a fix for this error with the local model (%1)', keys)
      : trans.__('Propose a fix for this error with the local model');
    button.addEventListener('click', event => {
      event.stopPropagation();
      const index = cell.outputArea.widgets.indexOf(child);
      if (index >= 0) {
        this._onFix(panel, cell, index);
      }
    });
    const widget = new Widget({ node: document.createElement('div') });
    widget.addClass('jp-codegen-FixButtonBox');
    widget.node.appendChild(button);
    return widget;
  }
}
