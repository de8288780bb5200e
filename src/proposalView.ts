/**
 * The proposal that Fix Error and Edit show under a cell: a short
 * explanation, a warning, an inline diff per cell it changes, and Stop while
 * it streams, then Apply and Discard. It never writes into the notebook:
 * its buttons call back, and the cells change only on Apply.
 */
import { Cell } from '@jupyterlab/cells';
import { TranslationBundle } from '@jupyterlab/translation';
import type { Extension } from '@codemirror/state';
import { PanelLayout, Widget } from '@lumino/widgets';

import { IProposedCell, ProposalDiffs } from './proposalDiffs';

export type ProposalState = 'streaming' | 'done' | 'stopped' | 'error';

/** How the proposal view looks and what its buttons do. */
export interface IProposalViewOptions {
  kind: 'fix' | 'edit';
  /** The heading ("Fix NameError", "Edit: use sum()"). */
  title: string;
  trans: TranslationBundle;
  /** The cell's language support, for highlighting in the diffs. */
  language?: Extension | null;
  /** Show the "re-run after applying" checkbox, checked or not; null: none. */
  rerun?: boolean | null;
  onStop: () => void;
  onApply: () => void;
  onDiscard: () => void;
}

/** The proposal under a cell: explanation, warning, diffs, buttons. */
export class ProposalView extends Widget {
  private _state: ProposalState = 'streaming';
  private _status: HTMLElement;
  private _explanation: HTMLElement;
  private _warning: HTMLElement;
  private _stop: HTMLButtonElement;
  private _apply: HTMLButtonElement;
  private _discard: HTMLButtonElement;
  private _rerun: HTMLInputElement | null = null;
  private _diffs: ProposalDiffs;
  private _trans: TranslationBundle;

  constructor(private _options: IProposalViewOptions) {
    super();
    const trans = (this._trans = _options.trans);
    this.addClass('jp-codegen-Proposal');
    this.node.dataset.kind = _options.kind;
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', _options.title);
    // Keys typed on its buttons are theirs, not the notebook's shortcuts
    // (Enter would enter edit mode, D D would delete the cell).
    this.node.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.node.addEventListener('keydown', event => {
      if (event.key === 'Escape' && this._state === 'streaming') {
        event.preventDefault();
        _options.onStop();
      }
    });
    // Clicks here are not clicks on the cell (no mode change, no drag).
    this.node.addEventListener('mousedown', event => event.stopPropagation());

    const header = document.createElement('div');
    header.className = 'jp-codegen-ProposalHeader';
    const title = document.createElement('span');
    title.className = 'jp-codegen-ProposalTitle';
    title.textContent = _options.title;
    this._status = document.createElement('span');
    this._status.className = 'jp-codegen-ProposalStatus';
    this._status.setAttribute('aria-live', 'polite');
    this._stop = this._button(
      trans.__('Stop'),
      trans.__('Stop writing the proposal (Escape)'),
      'stop',
      _options.onStop
    );
    header.append(title, this._status, this._stop);

    this._explanation = document.createElement('div');
    this._explanation.className = 'jp-codegen-ProposalExplanation';
    this._warning = document.createElement('div');
    this._warning.className = 'jp-codegen-ProposalWarning';
    this._warning.setAttribute('role', 'alert');
    this._warning.hidden = true;
    this._diffs = new ProposalDiffs(_options.language, () =>
      this._updateButtons()
    );

    const footer = document.createElement('div');
    footer.className = 'jp-codegen-ProposalFooter';
    if (_options.rerun !== null && _options.rerun !== undefined) {
      const label = document.createElement('label');
      label.className = 'jp-codegen-ProposalRerun';
      this._rerun = document.createElement('input');
      this._rerun.type = 'checkbox';
      this._rerun.checked = _options.rerun;
      this._rerun.dataset.action = 'rerun';
      label.title = trans.__(
        'After applying, run the changed cells and the failing cell again'
      );
      label.append(this._rerun, document.createTextNode(trans.__('Re-run')));
      footer.append(label);
    }
    this._apply = this._button(
      trans.__('Apply'),
      trans.__('Put the proposal into the notebook (one undo step per cell)'),
      'apply',
      _options.onApply
    );
    this._apply.classList.add('jp-mod-accept');
    this._discard = this._button(
      trans.__('Discard'),
      trans.__('Close the proposal; the notebook stays as it is'),
      'discard',
      _options.onDiscard
    );
    footer.append(this._apply, this._discard);
    this.node.append(
      header,
      this._explanation,
      this._warning,
      this._diffs.node,
      footer
    );
    this.setState('streaming');
  }

  get state(): ProposalState {
    return this._state;
  }

  /** Whether the cells are to run again after Apply (the checkbox). */
  get rerun(): boolean {
    return this._rerun?.checked ?? false;
  }

  /** The cells the proposal changes, as shown. */
  get keys(): string[] {
    return this._diffs.keys;
  }

  /** The text proposed for a cell, as shown (a reverted change is not in it). */
  proposed(key: string): string | null {
    return this._diffs.proposed(key);
  }

  /** The text the proposal for a cell was made against. */
  original(key: string): string | null {
    return this._diffs.original(key);
  }

  /**
   * The cause of the error (fix), shown above the diffs: plain text, its
   * `code spans` as code (never markup: the model's words are untrusted).
   */
  setExplanation(text: string): void {
    if (text === this._explanationText) {
      return;
    }
    this._explanationText = text;
    const parts = text.split(/`([^`\n]+)`/);
    this._explanation.replaceChildren(
      ...parts.map((part, i) => {
        if (i % 2 === 0) {
          return document.createTextNode(part);
        }
        const code = document.createElement('code');
        code.textContent = part;
        return code;
      })
    );
    this._explanation.hidden = !text;
  }

  private _explanationText = '';

  /**
   * A warning above the diffs (null: none), with a button after it when
   * `action` is given.
   */
  setWarning(
    text: string | null,
    action?: { label: string; title: string; onClick: () => void }
  ): void {
    this._warning.textContent = text ?? '';
    this._warning.hidden = !text;
    if (text && action) {
      const button = this._button(
        action.label,
        action.title,
        'warning-action',
        action.onClick
      );
      button.classList.add('jp-mod-minimal');
      this._warning.append(' ', button);
    }
  }

  /** How many cells the proposal changes, as shown. */
  get changedCells(): number {
    return this._diffs.changedCells;
  }

  /** Show these cells' diffs (the whole proposal so far), in this order. */
  setCells(cells: IProposedCell[]): void {
    this._diffs.setCells(cells);
    this._updateButtons();
  }

  /** Where the proposal is in its life; `message` for an error. */
  setState(state: ProposalState, message?: string): void {
    this._state = state;
    this.node.dataset.state = state;
    const trans = this._trans;
    const streaming =
      this._options.kind === 'fix'
        ? trans.__('Proposing a fix…')
        : trans.__('Rewriting…');
    const count = this.changedCells;
    const done = count
      ? trans._n('%1 cell changed', '%1 cells changed', count)
      : this._options.kind === 'fix'
        ? trans.__('No change proposed.')
        : trans.__('The rewrite changes nothing.');
    const label: Record<ProposalState, string> = {
      streaming,
      done,
      stopped: trans.__('Stopped.'),
      error: trans.__('Error: %1', message ?? '')
    };
    this._status.textContent = label[state];
    if (state === 'done') {
      this._diffs.allowRevert({
        label: trans.__('Revert'),
        title: trans.__('Keep this part as it is')
      });
    }
    this._updateButtons();
  }

  /**
   * Offer Apply (when the proposal is complete and changes something), or
   * not: a proposal that may break the code is applied only on request.
   */
  setApplyOffered(offered: boolean, label?: string): void {
    this._applyOffered = offered;
    if (label) {
      this._apply.textContent = label;
    }
    this._updateButtons();
  }

  /** Put the keyboard focus on Apply (or else Discard). */
  focusButtons(): void {
    (this._apply.disabled ? this._discard : this._apply).focus();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._diffs.dispose();
    super.dispose();
  }

  private _applyOffered = true;

  private _updateButtons(): void {
    const streaming = this._state === 'streaming';
    this._stop.hidden = !streaming;
    this._stop.disabled = !streaming;
    this._apply.hidden = this._state !== 'done';
    const changed = this.changedCells > 0;
    this._apply.disabled =
      this._state !== 'done' || !this._applyOffered || !changed;
    this._discard.textContent =
      this._state === 'done' && changed
        ? this._trans.__('Discard')
        : this._trans.__('Close');
    if (this._rerun) {
      this._rerun.disabled = this._apply.disabled;
    }
  }

  private _button(
    label: string,
    title: string,
    action: string,
    onClick: () => void
  ): HTMLButtonElement {
    const button = document.createElement('button');
    button.className = 'jp-Button jp-mod-styled jp-codegen-ProposalButton';
    button.textContent = label;
    button.title = title;
    button.dataset.action = action;
    button.addEventListener('click', () => onClick());
    return button;
  }
}

/**
 * Show `widget` in `cell` right under its input (the code it is about),
 * above the outputs.
 */
export function attachUnderInput(cell: Cell, widget: Widget): void {
  const layout = cell.layout as PanelLayout;
  const input = layout.widgets.findIndex(w =>
    w.hasClass('jp-Cell-inputWrapper')
  );
  layout.insertWidget(
    input >= 0 ? input + 1 : layout.widgets.length - 1,
    widget
  );
}
