/**
 * Status bar item: the model's state (loading / ready / error), its device and
 * name. A click opens the details: model, device, dtype, memory, the latest
 * request's latency, and the error text when loading failed.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { fetchStatus, IStatus, requestFailure } from './api';
import { requestErrors } from './requestErrors';
import {
  statusDetails,
  statusLabel,
  statusState,
  statusTitle
} from './statusText';

export { statusDetails, statusLabel } from './statusText';

/** Poll often while the model loads, then rarely. */
const POLL_LOADING_MS = 2000;
const POLL_SETTLED_MS = 15000;

export class CodegenStatusItem extends Widget {
  status: IStatus | null = null;
  unreachable: string | null = null;
  private _timer: number | undefined;
  private _unsubscribe: () => void;

  constructor() {
    super();
    this.addClass('jp-codegen-StatusItem');
    this.node.addEventListener('click', () => void this.showDetails());
    // A failed completion shows here instead of failing silently.
    this._unsubscribe = requestErrors.subscribe(() => this._render());
    this._render();
    void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      this.status = await fetchStatus();
      this.unreachable = null;
    } catch (reason) {
      this.unreachable = requestFailure(reason).message;
    }
    this._render();
    if (!this.isDisposed) {
      const delay =
        this.status?.state === 'loading' ? POLL_LOADING_MS : POLL_SETTLED_MS;
      this._timer = window.setTimeout(() => void this.refresh(), delay);
    }
  }

  async showDetails(): Promise<void> {
    await this.refresh();
    const table = document.createElement('table');
    table.className = 'jp-codegen-StatusDetails';
    const rows = statusDetails(
      this.status,
      this.unreachable,
      requestErrors.latest
    );
    for (const [key, value] of rows) {
      const row = table.insertRow();
      const th = document.createElement('th');
      th.textContent = key;
      const td = row.insertCell();
      td.textContent = value;
      row.prepend(th);
    }
    await showDialog({
      title: 'Codegen model',
      body: new Widget({ node: table }),
      buttons: [Dialog.okButton({ label: 'Close' })]
    });
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    this._unsubscribe();
    super.dispose();
  }

  private _render(): void {
    const error = requestErrors.latest;
    this.node.dataset.state = statusState(this.status, this.unreachable, error);
    this.node.title = statusTitle(error);
    this.node.textContent = statusLabel(this.status, this.unreachable, error);
  }
}

export const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:status',
  description: 'Shows the local model’s state in the status bar.',
  autoStart: true,
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, statusBar: IStatusBar | null) => {
    if (!statusBar) {
      return;
    }
    const item = new CodegenStatusItem();
    statusBar.registerStatusItem('jupyter-codegen:status', {
      item,
      align: 'left',
      rank: 4
    });
  }
};
