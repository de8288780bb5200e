/**
 * The status item's texts, from the server's status and the latest request
 * error. No JupyterLab imports: jest tests them.
 */
import { describeRequestError, IRequestError } from './requestErrors';
import type { IStatus } from './types';

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

/** The text of the status item; a standing request error marks it with ⚠. */
export function statusLabel(
  status: IStatus | null,
  unreachable: string | null,
  requestError: IRequestError | null = null
): string {
  if (unreachable) {
    return 'Codegen: offline';
  }
  if (!status) {
    return 'Codegen: …';
  }
  if (status.state === 'loading') {
    if (typeof status.progress === 'number') {
      // e.g. "Codegen: converting 40%" while the embedded model converts.
      const percent = Math.floor(
        Math.min(1, Math.max(0, status.progress)) * 100
      );
      return `Codegen: ${status.stage || 'loading'} ${percent}%`;
    }
    return `Codegen: loading ${shortModel(status.model)}…`;
  }
  if (status.state === 'error') {
    return 'Codegen: error';
  }
  const label = `Codegen: ${shortModel(status.model)} · ${status.device ?? '?'}`;
  return requestError ? `${label} ⚠` : label;
}

/** The status item's tooltip. */
export function statusTitle(requestError: IRequestError | null): string {
  const hint = 'Codegen model status (click for details)';
  return requestError ? `${describeRequestError(requestError)}\n${hint}` : hint;
}

/** The `data-state` of the status item (styles key on it). */
export function statusState(
  status: IStatus | null,
  unreachable: string | null,
  requestError: IRequestError | null
): string {
  if (unreachable) {
    return 'offline';
  }
  if (status?.state === 'ready' && requestError) {
    return 'request-error';
  }
  return status?.state ?? 'unknown';
}

/** The rows of the details dialog. */
export function statusDetails(
  status: IStatus | null,
  unreachable: string | null,
  requestError: IRequestError | null = null
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
  if (status.limits) {
    const l = status.limits;
    rows.push([
      'Limits',
      `${l.completion_max_tokens} tokens a completion, ${l.explain_max_tokens} an explanation, ${l.max_candidates} candidates`
    ]);
  }
  if (status.error) {
    rows.push(['Error', status.error]);
  }
  if (requestError) {
    rows.push(['Last request error', describeRequestError(requestError)]);
  }
  return rows;
}
