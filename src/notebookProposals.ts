/**
 * The one proposal (a fix or an edit) of each notebook: a new one discards
 * the one before it, and the notebook is marked while its proposal is being
 * written, so that Escape (the stop command) stops it.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

/** The command that stops the proposal being written in the notebook. */
export const PROPOSAL_STOP_COMMAND = 'jupyter-codegen:proposal-stop';

/** The class of a notebook while a proposal streams into it (Escape stops). */
export const PROPOSING_CLASS = 'jp-codegen-proposing';

/** A proposal in flight or on screen in a notebook. */
export interface IProposalHandle {
  /** Whether it is still being written. */
  readonly streaming: boolean;
  /** Stop writing it (here and on the server). */
  stop(): void;
  /** Stop it and take it off the screen. */
  discard(): void;
}

/** The proposal of each notebook: a new one discards the one before it. */
export class NotebookProposals {
  private _current = new WeakMap<NotebookPanel, IProposalHandle>();

  get(panel: NotebookPanel): IProposalHandle | null {
    return this._current.get(panel) ?? null;
  }

  /** Make `handle` the notebook's proposal, discarding the one before it. */
  set(panel: NotebookPanel, handle: IProposalHandle): void {
    const before = this._current.get(panel);
    this._current.set(panel, handle);
    if (before && before !== handle) {
      before.discard();
    }
  }

  /** `handle` is gone (applied or discarded). */
  delete(panel: NotebookPanel, handle: IProposalHandle): void {
    if (this._current.get(panel) === handle) {
      this._current.delete(panel);
    }
  }

  /** Mark whether the notebook has a proposal being written (for Escape). */
  markStreaming(panel: NotebookPanel, streaming: boolean): void {
    panel.content.node.classList.toggle(PROPOSING_CLASS, streaming);
  }
}

/** The one registry Fix and Edit share. */
export const proposals = new NotebookProposals();

/**
 * The command that stops the proposal being written in the current notebook
 * (Escape); added once, by whichever of Fix and Edit starts first.
 */
export function addProposalStopCommand(
  app: JupyterFrontEnd,
  current: () => NotebookPanel | null,
  trans: TranslationBundle,
  palette: ICommandPalette | null
): void {
  if (app.commands.hasCommand(PROPOSAL_STOP_COMMAND)) {
    return;
  }
  app.commands.addCommand(PROPOSAL_STOP_COMMAND, {
    label: trans.__('Stop the Proposed Fix or Edit'),
    caption: trans.__(
      'Stop the fix or edit being written in this notebook (also on the server)'
    ),
    isEnabled: () => {
      const panel = current();
      return !!panel && !!proposals.get(panel)?.streaming;
    },
    execute: () => {
      const panel = current();
      if (panel) {
        proposals.get(panel)?.stop();
      }
    }
  });
  palette?.addItem({ command: PROPOSAL_STOP_COMMAND, category: 'Codegen' });
}
