// Schedule argument checks, the linear warm-up, and reduce_on_plateau's JSON state.

import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import {
  createPlateauState,
  learningRateAt,
  plateauUpdate,
  validateSchedule,
  type PlateauConfig,
} from '../../src/core/schedules.js';
import type { ScheduleConfig } from '../../src/core/types.js';

const exponential: ScheduleConfig = {
  schedule: 'exponential',
  initial: 0.1,
  decaySteps: 100,
  decayRate: 0.5,
  staircase: false,
  warmupSteps: 0,
};
const cosine: ScheduleConfig = {
  schedule: 'cosine',
  initial: 0.1,
  decaySteps: 100,
  alpha: 0,
  restarts: false,
  tMul: 2,
  mMul: 1,
  warmupSteps: 0,
};
const plateau: PlateauConfig = {
  schedule: 'reduce_on_plateau',
  initial: 0.1,
  factor: 0.5,
  patience: 1,
  cooldown: 0,
  minLr: 0.01,
  minDelta: 0,
  monitor: 'val_loss',
  mode: 'auto',
  warmupSteps: 0,
};

function errorOf(cfg: ScheduleConfig): CoreError {
  try {
    validateSchedule(cfg);
  } catch (err) {
    if (err instanceof CoreError) return err;
    throw err;
  }
  throw new Error(`validateSchedule accepted ${JSON.stringify(cfg)}`);
}

describe('validateSchedule', () => {
  it('names the field and says what it got', () => {
    const err = errorOf({ ...exponential, decaySteps: 0 });
    expect(err.path).toBe('learningRate.decaySteps');
    expect(err.message).toBe('decaySteps must be > 0, got 0');
  });

  it('uses the caller-given path prefix', () => {
    expect(() => validateSchedule({ ...exponential, decaySteps: -1 }, 'spec.lr')).toThrow(
      expect.objectContaining({ path: 'spec.lr.decaySteps', message: 'decaySteps must be > 0, got -1' }),
    );
  });

  const refused: [ScheduleConfig, string, string][] = [
    [{ schedule: 'constant', initial: 0, warmupSteps: 0 }, 'learningRate.initial', 'initial must be > 0, got 0'],
    [{ schedule: 'constant', initial: Number.NaN, warmupSteps: 0 }, 'learningRate.initial', 'initial must be > 0, got NaN'],
    [{ ...exponential, warmupSteps: -5 }, 'learningRate.warmupSteps', 'warmupSteps must be an integer >= 0, got -5'],
    [{ ...exponential, warmupSteps: 2.5 }, 'learningRate.warmupSteps', 'warmupSteps must be an integer >= 0, got 2.5'],
    [{ ...exponential, decayRate: 0 }, 'learningRate.decayRate', 'decayRate must be > 0, got 0'],
    [
      { schedule: 'step', initial: 0.1, factor: 0.5, everyEpochs: 0, warmupSteps: 0 },
      'learningRate.everyEpochs',
      'everyEpochs must be an integer >= 1, got 0',
    ],
    [
      { schedule: 'step', initial: 0.1, factor: -1, everyEpochs: 2, warmupSteps: 0 },
      'learningRate.factor',
      'factor must be > 0, got -1',
    ],
    [
      { schedule: 'inverse_time', initial: 0.1, decaySteps: 10, decayRate: -0.5, staircase: true, warmupSteps: 0 },
      'learningRate.decayRate',
      'decayRate must be >= 0, got -0.5',
    ],
    [{ ...cosine, alpha: 1.5 }, 'learningRate.alpha', 'alpha must be in [0, 1], got 1.5'],
    [{ ...cosine, decaySteps: Infinity }, 'learningRate.decaySteps', 'decaySteps must be > 0, got Infinity'],
    [{ ...cosine, restarts: true, tMul: 0.5 }, 'learningRate.tMul', 'tMul must be >= 1, got 0.5'],
    [{ ...cosine, restarts: true, mMul: 0 }, 'learningRate.mMul', 'mMul must be > 0, got 0'],
    [
      { schedule: 'polynomial', initial: 0.1, decaySteps: 0, endLearningRate: 0, power: 1, cycle: false, warmupSteps: 0 },
      'learningRate.decaySteps',
      'decaySteps must be > 0, got 0',
    ],
    [
      { schedule: 'polynomial', initial: 0.1, decaySteps: 10, endLearningRate: -1, power: 1, cycle: false, warmupSteps: 0 },
      'learningRate.endLearningRate',
      'endLearningRate must be >= 0, got -1',
    ],
    [
      { schedule: 'polynomial', initial: 0.1, decaySteps: 10, endLearningRate: 0, power: 0, cycle: false, warmupSteps: 0 },
      'learningRate.power',
      'power must be > 0, got 0',
    ],
    [{ ...plateau, factor: 1 }, 'learningRate.factor', 'factor must be in (0, 1), got 1'],
    [{ ...plateau, patience: -1 }, 'learningRate.patience', 'patience must be an integer >= 0, got -1'],
    [{ ...plateau, cooldown: 0.5 }, 'learningRate.cooldown', 'cooldown must be an integer >= 0, got 0.5'],
    [{ ...plateau, minLr: -1e-5 }, 'learningRate.minLr', 'minLr must be >= 0, got -0.00001'],
    [{ ...plateau, minDelta: -1 }, 'learningRate.minDelta', 'minDelta must be >= 0, got -1'],
    [{ ...plateau, mode: 'up' as 'min' }, 'learningRate.mode', 'mode must be min, max or auto, got "up"'],
  ];
  for (const [cfg, path, message] of refused) {
    it(`refuses: ${message}`, () => {
      const err = errorOf(cfg);
      expect(err.path).toBe(path);
      expect(err.message).toBe(message);
    });
  }

  it('accepts sound configs of every kind', () => {
    for (const cfg of [exponential, cosine, { ...cosine, restarts: true }, plateau, { ...plateau, warmupSteps: 10 }]) {
      expect(() => validateSchedule(cfg)).not.toThrow();
    }
  });
});

describe('linear warm-up', () => {
  it('rises from 0 to initial over warmupSteps, then runs the schedule from its own step 0', () => {
    const cfg: ScheduleConfig = { ...cosine, warmupSteps: 10 };
    expect(learningRateAt(cfg, 0, 0)).toBe(0);
    expect(learningRateAt(cfg, 5, 0)).toBeCloseTo(0.05, 15);
    expect(learningRateAt(cfg, 9, 0)).toBeCloseTo(0.09, 15);
    expect(learningRateAt(cfg, 10, 0)).toBe(learningRateAt(cosine, 0, 0));
    expect(learningRateAt(cfg, 10, 0)).toBe(0.1);
    for (const s of [11, 50, 109, 110, 500]) expect(learningRateAt(cfg, s, 0)).toBe(learningRateAt(cosine, s - 10, 0));
  });

  it('ramps towards the plateau state’s current lr', () => {
    const cfg: PlateauConfig = { ...plateau, warmupSteps: 4 };
    const state = createPlateauState(cfg);
    state.lr = 0.04;
    expect(learningRateAt(cfg, 2, 0, state)).toBeCloseTo(0.02, 15);
    expect(learningRateAt(cfg, 4, 0, state)).toBe(0.04);
    expect(learningRateAt(cfg, 2, 0)).toBeCloseTo(0.05, 15);
  });

  it('is a pure function of the step', () => {
    const cfg: ScheduleConfig = { ...exponential, warmupSteps: 7 };
    const first = Array.from({ length: 30 }, (_, s) => learningRateAt(cfg, s, 0));
    const again = Array.from({ length: 30 }, (_, s) => learningRateAt(cfg, s, 0));
    expect(again).toEqual(first);
  });
});

describe('reduce_on_plateau state', () => {
  it('starts as plain JSON and survives a JSON round trip at every epoch', () => {
    const values = [1, 0.9, 0.95, 0.97, 0.96, 0.5, 0.6, 0.7, 0.8, 0.9];
    const live = createPlateauState(plateau);
    expect(live).toEqual({ lr: 0.1, best: null, wait: 0, cooldownCounter: 0 });
    let resumed = JSON.parse(JSON.stringify(live)) as typeof live;
    for (const v of values) {
      const a = plateauUpdate(plateau, live, v);
      const b = plateauUpdate(plateau, resumed, v);
      expect(b).toBe(a);
      resumed = JSON.parse(JSON.stringify(resumed)) as typeof resumed;
      expect(resumed).toEqual(live);
    }
    // Reduced at epochs 3, 4, 5 (0.05, 0.025, 0.0125), then at 7 to the floor minLr 0.01.
    expect(live.lr).toBe(0.01);
    expect(live.best).toBe(0.5);
  });

  it('never goes below minLr, and stops reducing there', () => {
    const state = createPlateauState({ ...plateau, patience: 0, minLr: 0.03 });
    const lrs = [1, 1, 1, 1].map((v) => plateauUpdate({ ...plateau, patience: 0, minLr: 0.03 }, state, v));
    expect(lrs).toEqual([0.1, 0.05, 0.03, 0.03]);
  });
});
