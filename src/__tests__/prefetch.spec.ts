import {
  BUSY_RETRY_MS,
  busyRetryDelay,
  Debouncer,
  fnv1a,
  LOW_BATTERY_LEVEL,
  PowerSignals,
  PREFETCH_DEBOUNCE_MS,
  prefetchRequestId,
  PromptMemory,
  promptFingerprint,
  providerEnabledIn,
  RETRY_MS,
  savingPower,
  skipReason,
  statusSkipReason
} from '../prefetchRules';
import { kernelTiming, sessionTiming } from '../kernelTiming';
import { IEditorSnapshot } from '../request';
import { MAX_REQUEST_ID_CHARS } from '../wire.generated';

const snapshot: IEditorSnapshot = {
  text: 'df.groupby("a").sum()',
  offset: 0,
  path: 'work/analysis.ipynb',
  activeCell: 1,
  cells: [
    { cell_type: 'code', source: 'import pandas as pd' },
    { cell_type: 'code', source: 'ACTIVE' },
    { cell_type: 'markdown', source: '# Notes' }
  ],
  namespace: 'df: DataFrame (3 x 2)'
};

const on = {
  prefetch: true,
  enabled: true,
  providerEnabled: true,
  cellType: 'code'
};

describe('skipReason', () => {
  it('lets a code cell through when everything is on', () => {
    expect(skipReason(on)).toBeNull();
  });

  it('skips when the prefetch setting is off', () => {
    expect(skipReason({ ...on, prefetch: false })).toMatch(/prefetch is off/);
  });

  it('skips when inline completions are off, here or in the inline completer', () => {
    expect(skipReason({ ...on, enabled: false })).toMatch(
      /completions are off/
    );
    expect(skipReason({ ...on, providerEnabled: false })).toMatch(
      /completions are off/
    );
  });

  it('skips markdown and raw cells', () => {
    expect(skipReason({ ...on, cellType: 'markdown' })).toMatch(/markdown/);
    expect(skipReason({ ...on, cellType: 'raw' })).toMatch(/raw/);
  });
});

describe('providerEnabledIn', () => {
  it('is on unless the provider entry says enabled: false', () => {
    expect(providerEnabledIn(null, 'jupyter-codegen')).toBe(true);
    expect(providerEnabledIn({ providers: {} }, 'jupyter-codegen')).toBe(true);
    expect(
      providerEnabledIn(
        { providers: { 'jupyter-codegen': { enabled: true } } },
        'jupyter-codegen'
      )
    ).toBe(true);
    expect(
      providerEnabledIn(
        { providers: { 'jupyter-codegen': { enabled: false } } },
        'jupyter-codegen'
      )
    ).toBe(false);
    // Another provider's entry does not count.
    expect(
      providerEnabledIn(
        { providers: { other: { enabled: false } } },
        'jupyter-codegen'
      )
    ).toBe(true);
  });
});

describe('statusSkipReason', () => {
  const idle = { active: 0, queued: 0 } as any;

  it('goes on only when the model is ready and idle', () => {
    expect(statusSkipReason({ state: 'ready', requests: idle })).toBeNull();
    expect(statusSkipReason({ state: 'loading' })).toMatch(/loading/);
    expect(statusSkipReason({ state: 'error' })).toMatch(/error/);
    expect(statusSkipReason(null)).toMatch(/unreachable/);
  });

  it('skips while requests run or wait', () => {
    expect(
      statusSkipReason({ state: 'ready', requests: { ...idle, active: 1 } })
    ).toMatch(/busy/);
    expect(
      statusSkipReason({ state: 'ready', requests: { ...idle, queued: 2 } })
    ).toMatch(/busy/);
  });

  it('lets the server decide when the busy request may be our own superseded prefetch', () => {
    expect(
      statusSkipReason(
        { state: 'ready', requests: { ...idle, active: 1 } },
        true
      )
    ).toBeNull();
    // but never on a model that is not ready
    expect(statusSkipReason({ state: 'loading' }, true)).toMatch(/loading/);
  });
});

describe('busyRetryDelay', () => {
  it('retries soon, once, after our own superseded prefetch', () => {
    expect(busyRetryDelay(0, true)).toBe(RETRY_MS);
  });

  it('retries a prefetch the busy model turned away with growing waits, then gives up', () => {
    const waits = [0, 1, 2, 3].map(attempt => busyRetryDelay(attempt, false));
    expect(waits).toEqual([...BUSY_RETRY_MS, null]);
    expect(BUSY_RETRY_MS).toEqual([...BUSY_RETRY_MS].sort((a, b) => a - b));
    // a superseded prefetch retried once goes on with the later waits
    expect(busyRetryDelay(1, true)).toBe(BUSY_RETRY_MS[1]);
  });
});

describe('savingPower', () => {
  it('saves on a low battery that is not charging', () => {
    expect(savingPower({ battery: { charging: false, level: 0.1 } })).toBe(
      true
    );
    expect(
      savingPower({
        battery: { charging: false, level: LOW_BATTERY_LEVEL - 0.01 }
      })
    ).toBe(true);
  });

  it('does not save when charging, above the threshold, or without a battery API', () => {
    expect(savingPower({ battery: { charging: true, level: 0.05 } })).toBe(
      false
    );
    expect(
      savingPower({ battery: { charging: false, level: LOW_BATTERY_LEVEL } })
    ).toBe(false);
    expect(savingPower({ battery: { charging: false, level: 0.9 } })).toBe(
      false
    );
    expect(savingPower({})).toBe(false);
    expect(savingPower({ battery: null })).toBe(false);
  });

  it('saves with Save-Data or prefers-reduced-data', () => {
    expect(savingPower({ saveData: true })).toBe(true);
    expect(savingPower({ reducedData: true })).toBe(true);
    expect(
      savingPower({
        battery: { charging: true, level: 1 },
        saveData: false,
        reducedData: false
      })
    ).toBe(false);
  });
});

describe('PowerSignals', () => {
  it('reads the battery once and its live state on every read', async () => {
    const battery = { charging: true, level: 0.5 };
    const getBattery = jest.fn(() => Promise.resolve(battery));
    const power = new PowerSignals({
      navigator: { getBattery, connection: { saveData: false } },
      matchMedia: () => ({ matches: false })
    });
    expect(savingPower(await power.read())).toBe(false);
    battery.charging = false;
    battery.level = 0.1;
    expect(savingPower(await power.read())).toBe(true);
    expect(getBattery).toHaveBeenCalledTimes(1);
  });

  it('reads Save-Data and the reduced-data media query', async () => {
    const queries: string[] = [];
    const power = new PowerSignals({
      navigator: { connection: { saveData: true } },
      matchMedia: query => {
        queries.push(query);
        return { matches: true };
      }
    });
    expect(await power.read()).toEqual({
      battery: null,
      saveData: true,
      reducedData: true
    });
    expect(queries).toEqual(['(prefers-reduced-data: reduce)']);
  });

  it('counts a missing or failing API as not saving', async () => {
    expect(savingPower(await new PowerSignals({}).read())).toBe(false);
    const failing = new PowerSignals({
      navigator: { getBattery: () => Promise.reject(new Error('denied')) },
      matchMedia: () => {
        throw new Error('unsupported query');
      }
    });
    expect(await failing.read()).toEqual({
      battery: null,
      saveData: false,
      reducedData: false
    });
  });
});

describe('promptFingerprint', () => {
  const base = promptFingerprint(snapshot);

  it('is stable for the same prompt, wherever the cursor is', () => {
    expect(promptFingerprint({ ...snapshot })).toBe(base);
    expect(promptFingerprint({ ...snapshot, offset: 5 })).toBe(base);
  });

  it('changes with the document, the cell, its text, the others and the namespace', () => {
    const variants: IEditorSnapshot[] = [
      { ...snapshot, path: 'other.ipynb' },
      { ...snapshot, activeCell: 0 },
      { ...snapshot, text: 'df.groupby("b").sum()' },
      { ...snapshot, text: snapshot.text + ' ' },
      {
        ...snapshot,
        cells: [...snapshot.cells!, { cell_type: 'code', source: '' }]
      },
      {
        ...snapshot,
        cells: [
          { cell_type: 'code', source: 'import pandas as pd\nimport numpy' },
          ...snapshot.cells!.slice(1)
        ]
      },
      { ...snapshot, namespace: 'df: DataFrame (4 x 2)' },
      { ...snapshot, namespace: undefined }
    ];
    const prints = variants.map(promptFingerprint);
    expect(new Set([base, ...prints]).size).toBe(variants.length + 1);
  });

  it('ignores the active cell entry of `cells` (the editor text counts)', () => {
    const cells = snapshot.cells!.map((c, i) =>
      i === 1 ? { ...c, source: 'stale model text' } : c
    );
    expect(promptFingerprint({ ...snapshot, cells })).toBe(base);
  });

  it('works for a file without cells', () => {
    const file = { text: 'import os\n', offset: 10, path: 'a.py' };
    expect(promptFingerprint(file)).toBe(promptFingerprint({ ...file }));
    expect(promptFingerprint(file)).not.toBe(
      promptFingerprint({ ...file, text: 'import sys\n' })
    );
  });
});

describe('PromptMemory', () => {
  it('remembers the latest prompt of each document', () => {
    const memory = new PromptMemory();
    const key = PromptMemory.key(snapshot);
    const print = promptFingerprint(snapshot);
    expect(memory.isLatest(key, print)).toBe(false);
    memory.remember(snapshot);
    expect(memory.isLatest(key, print)).toBe(true);
    // A completion elsewhere in the same document replaces it.
    memory.remember({ ...snapshot, text: 'x = 1' });
    expect(memory.isLatest(key, print)).toBe(false);
    // Another document's prompts do not.
    memory.remember({ ...snapshot, text: 'x = 1' });
    memory.remember({ ...snapshot, path: 'b.ipynb' });
    expect(
      memory.isLatest(key, promptFingerprint({ ...snapshot, text: 'x = 1' }))
    ).toBe(true);
  });

  it('forgets a prompt that was not computed, unless a newer one replaced it', () => {
    const memory = new PromptMemory();
    memory.rememberFingerprint('a', 'one');
    memory.forget('a', 'one');
    expect(memory.isLatest('a', 'one')).toBe(false);
    memory.rememberFingerprint('a', 'one');
    memory.rememberFingerprint('a', 'two');
    memory.forget('a', 'one');
    expect(memory.isLatest('a', 'two')).toBe(true);
  });

  it('keeps at most `capacity` documents, dropping the least recent', () => {
    const memory = new PromptMemory(2);
    memory.rememberFingerprint('a', '1');
    memory.rememberFingerprint('b', '1');
    memory.rememberFingerprint('a', '2');
    memory.rememberFingerprint('c', '1');
    expect(memory.isLatest('b', '1')).toBe(false);
    expect(memory.isLatest('a', '2')).toBe(true);
    expect(memory.isLatest('c', '1')).toBe(true);
  });
});

describe('prefetchRequestId', () => {
  it('is fixed per document', () => {
    expect(prefetchRequestId('work/a.ipynb')).toBe('prefetch:work/a.ipynb');
    expect(prefetchRequestId('work/a.ipynb')).toBe(
      prefetchRequestId('work/a.ipynb')
    );
    expect(prefetchRequestId('work/b.ipynb')).not.toBe(
      prefetchRequestId('work/a.ipynb')
    );
  });

  it('fits the server bound for long paths and keeps them apart', () => {
    const long = 'deep/'.repeat(40) + 'notebook.ipynb';
    const other = 'DEEP/'.repeat(40) + 'notebook.ipynb';
    const id = prefetchRequestId(long);
    expect(id.length).toBeLessThanOrEqual(MAX_REQUEST_ID_CHARS);
    expect(id.startsWith('prefetch:')).toBe(true);
    expect(id.endsWith('notebook.ipynb')).toBe(true);
    expect(prefetchRequestId(other)).not.toBe(id);
  });

  it('hashes with FNV-1a', () => {
    expect(fnv1a('')).toBe('811c9dc5');
    expect(fnv1a('a')).toBe('e40c292c');
  });
});

describe('kernelTiming', () => {
  it('goes ahead while the session or its kernel starts, and looks again once idle', () => {
    expect(kernelTiming({ sessionReady: false, status: null })).toBe(
      'now-and-when-idle'
    );
    expect(kernelTiming({ sessionReady: false, status: 'idle' })).toBe(
      'now-and-when-idle'
    );
    for (const status of [
      'unknown',
      'starting',
      'restarting',
      'autorestarting'
    ]) {
      expect(kernelTiming({ sessionReady: true, status })).toBe(
        'now-and-when-idle'
      );
    }
  });

  it('waits while the kernel runs a cell', () => {
    expect(kernelTiming({ sessionReady: true, status: 'busy' })).toBe(
      'when-idle'
    );
  });

  it("reads a session context's readiness and its kernel's status", () => {
    const kernel = (status: string) => ({ kernel: { status } });
    expect(sessionTiming({ isReady: true, session: kernel('idle') })).toBe(
      'now'
    );
    expect(sessionTiming({ isReady: true, session: kernel('busy') })).toBe(
      'when-idle'
    );
    expect(sessionTiming({ isReady: true, session: null })).toBe('now');
    expect(sessionTiming({ isReady: false, session: kernel('idle') })).toBe(
      'now-and-when-idle'
    );
  });

  it('goes ahead when idle, without a kernel, or with a dead one', () => {
    expect(kernelTiming({ sessionReady: true, status: 'idle' })).toBe('now');
    expect(kernelTiming({ sessionReady: true, status: null })).toBe('now');
    expect(kernelTiming({ sessionReady: true, status: 'dead' })).toBe('now');
  });
});

describe('Debouncer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs once, delayMs after the last schedule', () => {
    const action = jest.fn();
    const debouncer = new Debouncer(PREFETCH_DEBOUNCE_MS, action);
    debouncer.schedule();
    jest.advanceTimersByTime(PREFETCH_DEBOUNCE_MS - 100);
    debouncer.schedule(); // a second move restarts the wait
    jest.advanceTimersByTime(PREFETCH_DEBOUNCE_MS - 1);
    expect(action).not.toHaveBeenCalled();
    expect(debouncer.pending).toBe(true);
    jest.advanceTimersByTime(1);
    expect(action).toHaveBeenCalledTimes(1);
    expect(debouncer.pending).toBe(false);
    jest.advanceTimersByTime(10 * PREFETCH_DEBOUNCE_MS);
    expect(action).toHaveBeenCalledTimes(1);
  });

  it('runs again for a schedule after it ran, and not at all when cancelled', () => {
    const action = jest.fn();
    const debouncer = new Debouncer(100, action);
    debouncer.schedule();
    jest.advanceTimersByTime(100);
    debouncer.schedule();
    jest.advanceTimersByTime(100);
    expect(action).toHaveBeenCalledTimes(2);
    debouncer.schedule();
    debouncer.cancel();
    jest.advanceTimersByTime(1000);
    expect(action).toHaveBeenCalledTimes(2);
    expect(debouncer.pending).toBe(false);
  });
});
