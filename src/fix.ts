/**
 * "Fix Error": a Fix button beside every error output of a code cell, the
 * `jupyter-codegen:fix` command in the cell context menu and the command
 * palette, and Alt+F (the active cell's error, or else the nearest one
 * above it: after Shift+Enter the failing cell is the one above).
 *
 * The request carries the error output exactly as the kernel sent it, the
 * notebook's cells in order, and the kernel's live variables (those on the
 * failing lines first). The proposal streams under the failing cell: the
 * cause, then an inline diff of each cell it changes, which may be an
 * earlier cell (a helper defined above). Stop (or Escape) cancels it on the
 * server; Apply puts each cell's new text in as one undo step of that cell,
 * and re-runs the changed cells and the failing one when "Re-run" is checked
 * (the `fixRerun` setting is its default); Discard leaves the notebook as it
 * was. Nothing is written into the notebook before Apply.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { Cell, CodeCell, ICodeCellModel } from '@jupyterlab/cells';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import type { ISharedCell } from '@jupyter/ydoc';
import { CommandRegistry } from '@lumino/commands';
import type { Extension } from '@codemirror/state';
import { Panel, Widget } from '@lumino/widgets';

import { CodegenStream, streamRequest, StreamSlot } from './api';
import { applyText } from './applyText';
import {
  buildFixRequest,
  editTarget,
  fixLiveSource,
  IFixBody,
  IOutputLike,
  kernelError
} from './fixText';
import { liveNamespace } from './kernelContext';
import { watchSettings } from './notebook';
import {
  addProposalStopCommand,
  IProposalHandle,
  proposals
} from './notebookProposals';
import { IProposedCell, languageSupport } from './proposalDiffs';
import { attachUnderInput, ProposalView } from './proposalView';
import { cellContext } from './request';
import type { ICellEdit, IFixReply } from './wire.generated';

export const FIX_COMMAND = 'jupyter-codegen:fix';

/** The class of the Fix button on an error output. */
export const FIX_BUTTON_CLASS = 'jp-codegen-FixButton';

/** How long a fix waits for the kernel's live variables (ms). */
const FIX_LIVE_TIMEOUT_MS = 2000;

/** The user's settings for fixes (schema/plugin.json). */
export interface IFixSettings {
  maxTokens: number;
  /** Whether "Re-run" starts checked. */
  rerun: boolean;
  liveContext: boolean;
}

/** Where a fix is asked for: a code cell and the index of its error output. */
interface IFixTarget {
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
 * "This cell" (the failing one), or "Cell 2 [5]": where the cell is in the
 * notebook now, and its execution count.
 */
function cellLabel(
  panel: NotebookPanel,
  cell: ISharedCell,
  failing: ISharedCell,
  trans: TranslationBundle
): string {
  if (cell === failing) {
    return trans.__('This cell');
  }
  const widgets = panel.content.widgets;
  const index = widgets.findIndex(w => w.model.sharedModel === cell);
  const model = widgets[index]?.model;
  const count =
    model?.type === 'code' ? (model as ICodeCellModel).executionCount : null;
  const label = trans.__('Cell %1', index + 1);
  return count ? `${label} [${count}]` : label;
}

/** What one fix session knows. */
interface IFixSessionOptions {
  panel: NotebookPanel;
  /** The notebook index of the failing cell. */
  failing: number;
  body: IFixBody;
  requestId: string;
  /** The notebook's cells (shared models) when the fix was asked for. */
  cells: ISharedCell[];
  trans: TranslationBundle;
  language: Extension | null;
  rerun: boolean;
  ename: string;
  runCells: (cells: ISharedCell[]) => Promise<void>;
}

/** One fix: its stream, and the proposal under the failing cell. */
class FixSession implements IProposalHandle {
  readonly view: ProposalView;
  private _stream: CodegenStream;
  private _reply: IFixReply | null = null;
  private _closed = false;

  constructor(private _options: IFixSessionOptions) {
    const { trans } = _options;
    this._stream = streamRequest({
      endPoint: 'fix',
      body: _options.body.request,
      requestId: _options.requestId,
      onEvent: event => {
        if (event.event === 'fix') {
          this._show(
            String(event.data?.explanation ?? ''),
            (event.data?.edits ?? []) as ICellEdit[]
          );
        } else if (event.event === 'done') {
          this._reply = event.data as IFixReply;
        }
      },
      errorKind: 'fix'
    });
    this.view = new ProposalView({
      kind: 'fix',
      title: trans.__('Fix %1', _options.ename || trans.__('the error')),
      trans,
      language: _options.language,
      rerun: _options.rerun,
      onStop: () => this.stop(),
      onApply: () => void this.apply(),
      onDiscard: () => this.discard()
    });
    // The cell (and the proposal in it) deleted: stop, here and on the server.
    this.view.disposed.connect(() => this.discard());
  }

  get streaming(): boolean {
    return this.view.state === 'streaming';
  }

  /** Run the request in the notebook's slot, streaming the proposal. */
  async run(slot: StreamSlot): Promise<void> {
    const { panel, trans } = this._options;
    proposals.markStreaming(panel, true);
    const outcome = await slot.run(this._stream);
    if (proposals.get(panel) === this) {
      proposals.markStreaming(panel, false);
    }
    if (this._closed) {
      return;
    }
    if (outcome.state === 'done' && this._reply) {
      this._show(this._reply.explanation, this._reply.edits);
      this.view.setState('done');
    } else if (outcome.state === 'done') {
      // A proposal cut short is not offered for Apply.
      this.view.setState('error', trans.__('the reply ended early'));
    } else if (outcome.state === 'error') {
      this.view.setState('error', outcome.message);
    } else {
      this.view.setState('stopped');
    }
  }

  stop(): void {
    this._stream.stop();
  }

  discard(): void {
    this.stop();
    this._close();
  }

  /**
   * Put each cell's proposed text in (one undo step each), when every cell
   * still holds the text the fix was made against; then re-run if asked.
   */
  async apply(): Promise<void> {
    const { cells, failing, trans, panel } = this._options;
    const changes = this.view.keys
      .map(key => ({
        index: Number(key),
        before: this.view.original(key) ?? '',
        after: this.view.proposed(key) ?? ''
      }))
      .filter(change => change.before !== change.after);
    const stale = changes.filter(({ index, before }) => {
      const cell = cells[index];
      return !cell || cell.isDisposed || cell.getSource() !== before;
    });
    if (stale.length) {
      this.view.setWarning(
        trans.__(
          '%1 changed since the fix was proposed: nothing was applied. Discard it and ask again.',
          stale
            .map(({ index }) =>
              cellLabel(panel, cells[index], cells[failing], trans)
            )
            .join(', ')
        )
      );
      this.view.setApplyOffered(false);
      return;
    }
    for (const { index, before, after } of changes) {
      applyText(cells[index], before, after);
    }
    const rerun = this.view.rerun && changes.length > 0;
    this._close();
    if (rerun) {
      const run = new Set(changes.map(({ index }) => cells[index]));
      run.add(cells[failing]);
      await this._options.runCells([...run]);
    }
  }

  /** Show the proposal so far: the cause, and a diff per cell it changes. */
  private _show(explanation: string, edits: ICellEdit[]): void {
    if (this._closed) {
      return;
    }
    const { body, failing, cells, panel, trans } = this._options;
    this.view.setExplanation(explanation);
    const shown = new Map<number, IProposedCell>();
    for (const edit of edits) {
      const index = editTarget(edit, body, failing);
      if (index === null || !cells[index]) {
        continue;
      }
      const original =
        index === failing
          ? body.request.cell
          : (body.request.cells_before?.[index - body.offset]?.source ?? '');
      shown.set(index, {
        key: String(index),
        label: cellLabel(panel, cells[index], cells[failing], trans),
        original,
        proposed: edit.source
      });
    }
    this.view.setCells(
      [...shown.entries()].sort(([a], [b]) => a - b).map(([, cell]) => cell)
    );
  }

  private _close(): void {
    if (this._closed) {
      return;
    }
    this._closed = true;
    const { panel } = this._options;
    if (proposals.get(panel) === this) {
      proposals.markStreaming(panel, false);
    }
    proposals.delete(panel, this);
    this.view.dispose();
  }
}

/**
 * The Fix buttons: one beside each error output of the notebooks' code
 * cells, kept up to date as outputs come and go.
 */
class FixButtons {
  private _hooked = new WeakSet<CodeCell>();
  private _buttons = new WeakMap<Widget, Widget>();

  constructor(
    private _onFix: (
      panel: NotebookPanel,
      cell: CodeCell,
      output: number
    ) => void,
    private _trans: TranslationBundle,
    private _keys: () => string
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
    const update = () => this._decorate(panel, cell);
    cell.outputArea.outputLengthChanged.connect(update);
    cell.model.outputs.changed.connect(() => requestAnimationFrame(update));
    update();
  }

  /** A button on each error output of `cell`, and on no other output. */
  private _decorate(panel: NotebookPanel, cell: CodeCell): void {
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

export const fixPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:fix',
  description:
    'Fix an error with the local model: a Fix button on error outputs, the proposal as a diff to apply.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ICommandPalette,
    ISettingRegistry,
    ITranslator,
    IEditorLanguageRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    languages: IEditorLanguageRegistry | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyter_codegen');
    const settings: IFixSettings = {
      maxTokens: 1024,
      rerun: false,
      liveContext: true
    };
    watchSettings(settingRegistry, composite => {
      settings.maxTokens = (composite.fixMaxTokens as number) ?? 1024;
      settings.rerun = (composite.fixRerun as boolean) ?? false;
      settings.liveContext = (composite.liveContext as boolean) ?? true;
    });
    const slots = new WeakMap<NotebookPanel, StreamSlot>();
    const slotOf = (panel: NotebookPanel): StreamSlot => {
      let slot = slots.get(panel);
      if (!slot) {
        slot = new StreamSlot();
        slots.set(panel, slot);
      }
      return slot;
    };
    let counter = 0;

    const current = (): NotebookPanel | null => {
      const panel = notebooks.currentWidget;
      return panel && panel === app.shell.currentWidget ? panel : null;
    };

    /**
     * The active cell's error, or else (unless `activeOnly`: the context
     * menu of a cell) the nearest error above it.
     */
    const targetIn = (
      panel: NotebookPanel | null,
      activeOnly: boolean
    ): IFixTarget | null => {
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
    };

    /**
     * The cell a command's arguments name (by its id), else the active
     * cell's error or the nearest above it (`activeOnly`: the active cell's).
     */
    const targetOf = (args: Record<string, unknown>): IFixTarget | null => {
      if (typeof args.cellId === 'string') {
        let found: IFixTarget | null = null;
        notebooks.forEach(panel => {
          const cell = panel.content.widgets.find(
            w => w.model.id === args.cellId
          );
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
      return targetIn(current(), args.activeOnly === true);
    };

    const runCells = async (
      panel: NotebookPanel,
      shared: ISharedCell[]
    ): Promise<void> => {
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
    };

    const fix = async (target: IFixTarget): Promise<void> => {
      const { panel, cell, output } = target;
      const json = cell.model.outputs.get(output)?.toJSON() as
        IOutputLike | undefined;
      const error = kernelError(json);
      if (!error || panel.isDisposed) {
        return;
      }
      proposals.get(panel)?.discard();
      const widgets = panel.content.widgets;
      const failing = widgets.indexOf(cell);
      if (failing < 0) {
        return;
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
        return;
      }
      const body = buildFixRequest({
        cells,
        active: failing,
        error,
        language: info?.name || spec?.language,
        namespace,
        maxTokens: settings.maxTokens
      });
      const session = new FixSession({
        panel,
        failing,
        body,
        requestId: `codegen-fix-${panel.id}-${++counter}`,
        cells: shared,
        trans,
        language,
        rerun: settings.rerun,
        ename: error.ename,
        runCells: toRun => runCells(panel, toRun)
      });
      proposals.set(panel, session);
      attachUnderInput(cell, session.view);
      session.view.node.scrollIntoView?.({ block: 'nearest' });
      const done = session.run(slotOf(panel));
      app.commands.notifyCommandChanged();
      try {
        await done;
      } finally {
        app.commands.notifyCommandChanged();
      }
    };

    const keysOf = (): string => {
      const binding = app.commands.keyBindings.find(
        b => b.command === FIX_COMMAND
      );
      return binding
        ? binding.keys.map(k => CommandRegistry.formatKeystroke(k)).join(' ')
        : '';
    };
    const buttons = new FixButtons(
      (panel, cell, output) => void fix({ panel, cell, output }),
      trans,
      keysOf
    );
    notebooks.widgetAdded.connect((_, panel) => buttons.watch(panel));
    notebooks.forEach(panel => buttons.watch(panel));

    app.commands.addCommand(FIX_COMMAND, {
      label: trans.__('Fix Error'),
      caption: trans.__(
        'Propose a fix for the error of the active cell (or the nearest one above it) with the local model, as a diff to apply'
      ),
      isEnabled: args => targetOf(args) !== null,
      execute: async args => {
        const target = targetOf(args);
        if (target) {
          await fix(target);
        }
      }
    });
    addProposalStopCommand(app, current, trans, palette);

    app.contextMenu.addItem({
      command: FIX_COMMAND,
      args: { activeOnly: true },
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 62
    });
    palette?.addItem({ command: FIX_COMMAND, category: 'Codegen' });
  }
};
