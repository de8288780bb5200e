import { describeRequestError, RequestErrors } from '../requestErrors';
import {
  statusDetails,
  statusLabel,
  statusState,
  statusTitle
} from '../statusText';
import type { IStatus } from '../types';

const ready: IStatus = {
  state: 'ready',
  model: 'embedded:qwen2.5-coder-1.5b-instruct',
  device: 'cpu',
  dtype: 'float32',
  family: 'qwen2.5-coder',
  error: null,
  detail: null,
  load_seconds: 3.2,
  limits: {
    completion_max_tokens: 256,
    explain_max_tokens: 1024,
    max_candidates: 4,
    max_concurrent: 1,
    max_queued: 8
  }
};

describe('request errors', () => {
  it('keeps the latest error of each kind until that kind succeeds', () => {
    const errors = new RequestErrors();
    let changes = 0;
    const unsubscribe = errors.subscribe(() => changes++);
    expect(errors.latest).toBeNull();
    errors.report('completion', { status: 429, message: 'The model is busy' });
    errors.report('explanation', new Error('Failed to fetch'));
    expect(errors.latest).toEqual({
      kind: 'explanation',
      status: null,
      message: 'Failed to fetch'
    });
    errors.clear('explanation');
    expect(errors.latest?.kind).toBe('completion');
    errors.clear('completion');
    errors.clear('completion'); // nothing left: no change
    expect(errors.latest).toBeNull();
    expect(changes).toBe(4);
    unsubscribe();
    errors.report('completion', new Error('x'));
    expect(changes).toBe(4);
  });

  it('describes an error with its HTTP status or as unreachable', () => {
    expect(
      describeRequestError({ kind: 'completion', status: 500, message: 'boom' })
    ).toBe('Last completion failed (HTTP 500): boom');
    expect(
      describeRequestError({ kind: 'completion', status: null, message: 'x' })
    ).toBe('Last completion failed (unreachable): x');
  });
});

describe('status item texts', () => {
  const error = { kind: 'completion', status: 429, message: 'busy' };

  it('marks a ready model whose last completion failed', () => {
    expect(statusLabel(ready, null)).toBe(
      'Codegen: qwen2.5-coder-1.5b-instruct · cpu'
    );
    expect(statusLabel(ready, null, error)).toBe(
      'Codegen: qwen2.5-coder-1.5b-instruct · cpu ⚠'
    );
    expect(statusState(ready, null, error)).toBe('request-error');
    expect(statusState(ready, null, null)).toBe('ready');
    expect(statusState(ready, 'down', error)).toBe('offline');
    expect(statusTitle(error)).toContain(
      'Last completion failed (HTTP 429): busy'
    );
    expect(statusTitle(null)).not.toContain('failed');
  });

  it('lists the error and the server limits in the details', () => {
    const rows = new Map(
      statusDetails(ready, null, error) as [string, string][]
    );
    expect(rows.get('Last request error')).toBe(
      'Last completion failed (HTTP 429): busy'
    );
    expect(rows.get('Limits')).toContain('256 tokens a completion');
    expect(
      statusDetails(ready, null).some(r => r[0] === 'Last request error')
    ).toBe(false);
  });
});

describe('load progress in the status item', () => {
  const loading: IStatus = {
    ...ready,
    state: 'loading',
    device: null,
    dtype: null,
    detail: 'converting the GGUF weights to bfloat16 safetensors (once)'
  };

  it.each([
    ['converting', 0.4, 'Codegen: converting 40%'],
    ['converting', 0.999, 'Codegen: converting 99%'],
    ['loading', 0, 'Codegen: loading 0%'],
    ['loading', 1.7, 'Codegen: loading 100%'],
    [null, 0.5, 'Codegen: loading 50%']
  ])('stage %s at %d reads %s', (stage, progress, label) => {
    expect(statusLabel({ ...loading, stage, progress }, null)).toBe(label);
  });

  it('without a fraction, names the model', () => {
    expect(statusLabel({ ...loading, stage: null, progress: null }, null)).toBe(
      'Codegen: loading qwen2.5-coder-1.5b-instruct…'
    );
  });

  it('shows the model once ready, whatever progress said', () => {
    expect(statusLabel({ ...ready, progress: null }, null)).toBe(
      'Codegen: qwen2.5-coder-1.5b-instruct · cpu'
    );
  });
});
