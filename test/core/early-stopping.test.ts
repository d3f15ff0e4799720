// Early stopping scenarios with Keras's EarlyStopping semantics; epochs count from 1.

import { describe, expect, it } from 'vitest';
import {
  createEarlyStopping,
  earlyStoppingUpdate,
  improved,
  resolveMode,
  validateEarlyStopping,
} from '../../src/core/early-stopping.js';
import { CoreError } from '../../src/core/errors.js';
import type { EarlyStoppingConfig } from '../../src/core/types.js';

const base: EarlyStoppingConfig = {
  monitor: 'val_loss',
  mode: 'auto',
  patience: 2,
  minDelta: 0,
  startFromEpoch: 0,
  baseline: null,
  restoreBest: true,
};

/** Feeds the values as epochs 1, 2, …; returns the epoch that stopped (0 = ran out) and the state. */
function run(cfg: EarlyStoppingConfig, values: number[]) {
  const state = createEarlyStopping();
  for (let i = 0; i < values.length; i++) {
    if (earlyStoppingUpdate(cfg, state, i + 1, values[i]!) === 'stop') return { stoppedAt: i + 1, state };
  }
  return { stoppedAt: 0, state };
}

describe('earlyStoppingUpdate', () => {
  it('stops after `patience` epochs without improvement and remembers the best epoch', () => {
    const { stoppedAt, state } = run(base, [1.0, 0.9, 0.95, 0.93, 0.5]);
    expect(stoppedAt).toBe(4);
    expect(state).toEqual({ wait: 2, best: 0.9, bestEpoch: 2, stoppedEpoch: 4 });
  });

  it('keeps going while the metric improves', () => {
    expect(run(base, [1, 0.9, 0.8, 0.7, 0.6, 0.5]).stoppedAt).toBe(0);
  });

  it('patience 0 stops at the first epoch that does not improve, but never at epoch 1', () => {
    expect(run({ ...base, patience: 0 }, [1, 0.9, 0.9]).stoppedAt).toBe(3);
    expect(run({ ...base, patience: 0 }, [Number.NaN, 1]).stoppedAt).toBe(0);
  });

  it('minDelta: a gain smaller than minDelta is no improvement', () => {
    const values = [1.0, 0.9995, 0.999];
    expect(run({ ...base, patience: 1, minDelta: 1e-3 }, values).stoppedAt).toBe(2);
    expect(run({ ...base, patience: 1, minDelta: 0 }, values).stoppedAt).toBe(0);
    const withDelta = run({ ...base, patience: 5, minDelta: 1e-3 }, values).state;
    expect(withDelta.best).toBe(1.0);
    expect(withDelta.bestEpoch).toBe(1);
  });

  it('mode max (auto from val_accuracy, or explicit) waits for a rise', () => {
    const acc = [0.5, 0.6, 0.6, 0.59];
    const auto = run({ ...base, monitor: 'val_accuracy' }, acc);
    expect(auto.stoppedAt).toBe(4);
    expect(auto.state.best).toBe(0.6);
    expect(auto.state.bestEpoch).toBe(2);
    expect(run({ ...base, monitor: 'custom', mode: 'max' }, acc).stoppedAt).toBe(4);
    // The same values read as a loss improve only once.
    expect(run({ ...base, monitor: 'val_loss' }, acc).stoppedAt).toBe(3);
  });

  it('baseline: patience only restarts once the baseline is beaten', () => {
    const cfg = { ...base, baseline: 0.5 };
    // Improving, but never below 0.5: the wait is not reset, the first stall stops training.
    expect(run(cfg, [0.9, 0.8, 0.85]).stoppedAt).toBe(3);
    expect(run(base, [0.9, 0.8, 0.85]).stoppedAt).toBe(0);
    // Beating the baseline resets the wait as usual.
    expect(run(cfg, [0.9, 0.4, 0.45, 0.46]).stoppedAt).toBe(4);
    expect(run(cfg, [0.9, 0.4, 0.45]).stoppedAt).toBe(0);
  });

  it('startFromEpoch: the first startFromEpoch epochs are not monitored', () => {
    const values = [5, 4, 3, 3.5, 3.6];
    const late = run({ ...base, patience: 1, startFromEpoch: 3 }, values);
    expect(late.stoppedAt).toBe(5);
    expect(late.state.best).toBe(3.5);
    expect(late.state.bestEpoch).toBe(4);
    expect(run({ ...base, patience: 1 }, values).stoppedAt).toBe(4);
  });

  it('NaN never improves; restoreBest still marks the first monitored epoch as best', () => {
    // Epoch 1 counts towards patience here, unlike a first real value (which is always a best).
    const { stoppedAt, state } = run(base, [Number.NaN, Number.NaN, Number.NaN]);
    expect(stoppedAt).toBe(2);
    expect(state.best).toBeNull();
    expect(state.bestEpoch).toBe(1);
    expect(run({ ...base, restoreBest: false }, [Number.NaN, Number.NaN, Number.NaN]).state.bestEpoch).toBe(0);
  });

  it('state is plain JSON and resumes where it stopped', () => {
    const cfg = { ...base, patience: 3 };
    const state = createEarlyStopping();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    earlyStoppingUpdate(cfg, state, 1, 1.0);
    earlyStoppingUpdate(cfg, state, 2, 1.1);
    const resumed = JSON.parse(JSON.stringify(state)) as typeof state;
    expect(earlyStoppingUpdate(cfg, resumed, 3, 1.2)).toBe('continue');
    expect(earlyStoppingUpdate(cfg, resumed, 4, 1.3)).toBe('stop');
    expect(resumed).toEqual({ wait: 3, best: 1.0, bestEpoch: 1, stoppedEpoch: 4 });
  });
});

describe('resolveMode and improved', () => {
  it('auto reads the metric name, ignoring val_', () => {
    expect(resolveMode('val_loss', 'auto')).toBe('min');
    expect(resolveMode('loss', 'auto')).toBe('min');
    expect(resolveMode('val_mae', 'auto')).toBe('min');
    expect(resolveMode('rmse', 'auto')).toBe('min');
    expect(resolveMode('val_accuracy', 'auto')).toBe('max');
    expect(resolveMode('accuracy', 'auto')).toBe('max');
    expect(resolveMode('val_r2', 'auto')).toBe('max');
    expect(resolveMode('val_accuracy', 'min')).toBe('min');
  });

  it('compares against best with minDelta; null best is beaten by any number', () => {
    expect(improved(0.9, 1, 'min', 0.05)).toBe(true);
    expect(improved(0.96, 1, 'min', 0.05)).toBe(false);
    expect(improved(1.1, 1, 'max', 0.05)).toBe(true);
    expect(improved(1.04, 1, 'max', 0.05)).toBe(false);
    expect(improved(1e300, null, 'min', 0)).toBe(true);
    expect(improved(-1e300, null, 'max', 0)).toBe(true);
    expect(improved(Number.NaN, null, 'min', 0)).toBe(false);
    expect(improved(Infinity, null, 'min', 0)).toBe(false);
  });
});

describe('validateEarlyStopping', () => {
  const cases: [Partial<EarlyStoppingConfig>, string, string][] = [
    [{ patience: -1 }, 'earlyStopping.patience', 'patience must be an integer >= 0, got -1'],
    [{ patience: 1.5 }, 'earlyStopping.patience', 'patience must be an integer >= 0, got 1.5'],
    [{ startFromEpoch: -2 }, 'earlyStopping.startFromEpoch', 'startFromEpoch must be an integer >= 0, got -2'],
    [{ minDelta: -0.1 }, 'earlyStopping.minDelta', 'minDelta must be >= 0, got -0.1'],
    [{ baseline: Number.NaN }, 'earlyStopping.baseline', 'baseline must be a finite number or null, got NaN'],
    [{ monitor: '' }, 'earlyStopping.monitor', 'monitor must name a metric, got ""'],
  ];
  for (const [patch, path, message] of cases) {
    it(`refuses ${JSON.stringify(patch)}`, () => {
      const err = catchError(() => validateEarlyStopping({ ...base, ...patch }));
      expect(err).toBeInstanceOf(CoreError);
      expect((err as CoreError).path).toBe(path);
      expect((err as CoreError).message).toBe(message);
    });
  }
  it('accepts a valid config', () => {
    expect(() => validateEarlyStopping({ ...base, baseline: 0.3, startFromEpoch: 4 })).not.toThrow();
  });
});

function catchError(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
