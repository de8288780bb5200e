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

import { fetchStatus, IStatus } from './api';

/** Poll often while the model loads, then rarely. */
const POLL_LOADING_MS = 2000;
const POLL_SETTLED_MS = 15000;

function shortModel(model: string): string {
  return (
    model
      .replace(/^embedded:/, '')
      .split('/')
      .pop() ?? model
  );
}

function gib(bytes: number | undefined): string {
  return bytes ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : 'unknown';
}

/** The text of the status item. */
export function statusLabel(
  status: IStatus | null,
  unreachable: string | null
): string {
  if (unreachable) {
    return 'Codegen: offline';
  }
  if (!status) {
    return 'Codegen: …';
  }
  if (status.state === 'loading') {
    return `Codegen: loading ${shortModel(status.model)}…`;
  }
  if (status.state === 'error') {
    return 'Codegen: error';
  }
  return `Codegen: ${shortModel(status.model)} · ${status.device ?? '?'}`;
}

/** The rows of the details dialog. */
export function statusDetails(
  status: IStatus | null,
  unreachable: string | null
): string[][] {
  if (unreachable || !status) {
    return [['Server', unreachable ?? 'no answer yet']];
  }
  const rows = [
    ['State', status.state + (status.detail ? ` (${status.detail})` : '')],
    ['Model', status.model],
    ['Device', status.device ?? '–'],
    ['Dtype', status.dtype ?? '–'],
    ['Prompt format', status.family ?? '–'],
    [
      'Server memory',
      `${gib(status.memory?.rss_bytes)} (peak ${gib(status.memory?.peak_rss_bytes)})`
    ]
  ];
  if (status.load_seconds) {
    rows.push(['Load time', `${status.load_seconds.toFixed(1)} s`]);
  }
  const recent = status.requests?.recent ?? [];
  const last = recent[recent.length - 1];
  if (last) {
    const first =
      last.first_token_ms !== undefined
        ? `, first token ${Math.round(last.first_token_ms)} ms`
        : '';
    rows.push([
      'Last request',
      `${last.kind}: ${Math.round(last.total_ms)} ms${first} (${last.outcome})`
    ]);
  }
  if (status.requests) {
    const r = status.requests;
    rows.push([
      'Requests',
      `${r.completed} done, ${r.cancelled} cancelled, ${r.active} running`
    ]);
  }
  if (status.error) {
    rows.push(['Error', status.error]);
  }
  return rows;
}

export class CodegenStatusItem extends Widget {
  status: IStatus | null = null;
  unreachable: string | null = null;
  private _timer: number | undefined;

  constructor() {
    super();
    this.addClass('jp-codegen-StatusItem');
    this.node.title = 'Codegen model status (click for details)';
    this.node.addEventListener('click', () => void this.showDetails());
    this._render();
    void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      this.status = await fetchStatus();
      this.unreachable = null;
    } catch (reason) {
      this.unreachable = String((reason as Error)?.message ?? reason);
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
    for (const [key, value] of statusDetails(this.status, this.unreachable)) {
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
    super.dispose();
  }

  private _render(): void {
    const state = this.unreachable
      ? 'offline'
      : (this.status?.state ?? 'unknown');
    this.node.dataset.state = state;
    this.node.textContent = statusLabel(this.status, this.unreachable);
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
