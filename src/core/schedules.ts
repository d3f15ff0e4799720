// Learning-rate schedules R(step): pure functions of the optimizer step (Keras's
// LearningRateSchedule formulas, in float64), a linear warm-up in front of any of them, and
// reduce_on_plateau, the one stateful schedule, whose state is plain JSON for the resume file.

import { improved, resolveMode } from './early-stopping.js';
import { CoreError } from './errors.js';
import type { ScheduleConfig } from './types.js';

export type PlateauConfig = Extract<ScheduleConfig, { schedule: 'reduce_on_plateau' }>;

/** Keras ReduceLROnPlateau's counters. `best` null = nothing seen yet (Keras's ±inf). */
export interface PlateauState {
  lr: number;
  best: number | null;
  wait: number;
  cooldownCounter: number;
}

/**
 * The learning rate for the update numbered `step` (0 for the first update, as Keras's
 * `optimizer.iterations`) during epoch `epoch` (0-based; only the `step` schedule reads it).
 * During warm-up lr = target·step/warmupSteps; afterwards the schedule runs on step − warmupSteps.
 * reduce_on_plateau's target is the plateau state's current lr (cfg.initial without a state).
 */
export function learningRateAt(cfg: ScheduleConfig, step: number, epoch: number, plateau?: PlateauState | null): number {
  if (step < cfg.warmupSteps) {
    const target = cfg.schedule === 'reduce_on_plateau' ? (plateau?.lr ?? cfg.initial) : cfg.initial;
    return (target * step) / cfg.warmupSteps;
  }
  const s = step - cfg.warmupSteps;
  switch (cfg.schedule) {
    case 'constant':
      return cfg.initial;
    case 'step':
      return cfg.initial * cfg.factor ** Math.floor(epoch / cfg.everyEpochs);
    case 'exponential': {
      const p = cfg.staircase ? Math.floor(s / cfg.decaySteps) : s / cfg.decaySteps;
      return cfg.initial * cfg.decayRate ** p;
    }
    case 'inverse_time': {
      const p = cfg.staircase ? Math.floor(s / cfg.decaySteps) : s / cfg.decaySteps;
      return cfg.initial / (1 + cfg.decayRate * p);
    }
    case 'cosine':
      return cfg.restarts ? cosineRestarts(cfg, s) : cosine(cfg, s);
    case 'polynomial':
      return polynomial(cfg, s);
    case 'reduce_on_plateau':
      return plateau?.lr ?? cfg.initial;
  }
}

type CosineConfig = Extract<ScheduleConfig, { schedule: 'cosine' }>;
type PolynomialConfig = Extract<ScheduleConfig, { schedule: 'polynomial' }>;

// Keras CosineDecay: half a cosine from initial down to alpha·initial over decaySteps, then flat.
function cosine(cfg: CosineConfig, step: number): number {
  const fraction = Math.min(step, cfg.decaySteps) / cfg.decaySteps;
  return cfg.initial * ((1 - cfg.alpha) * 0.5 * (1 + Math.cos(Math.PI * fraction)) + cfg.alpha);
}

// Keras CosineDecayRestarts (SGDR): period i lasts decaySteps·tMul^i and peaks at initial·mMul^i.
// Keras finds the period with log(); walking the periods gives the same value without log's
// rounding flipping floor() at the exact restart steps.
function cosineRestarts(cfg: CosineConfig, step: number): number {
  let start = 0;
  let length = cfg.decaySteps;
  let peak = 1;
  while (step >= start + length) {
    start += length;
    length *= cfg.tMul;
    peak *= cfg.mMul;
  }
  const fraction = (step - start) / length;
  return cfg.initial * ((1 - cfg.alpha) * 0.5 * peak * (1 + Math.cos(Math.PI * fraction)) + cfg.alpha);
}

// Keras PolynomialDecay: cycle stretches decaySteps to the next multiple past the step.
function polynomial(cfg: PolynomialConfig, step: number): number {
  let decaySteps = cfg.decaySteps;
  let s = step;
  if (cfg.cycle) {
    decaySteps *= step === 0 ? 1 : Math.ceil(step / cfg.decaySteps);
  } else {
    s = Math.min(step, decaySteps);
  }
  return (cfg.initial - cfg.endLearningRate) * (1 - s / decaySteps) ** cfg.power + cfg.endLearningRate;
}

export function createPlateauState(cfg: PlateauConfig): PlateauState {
  return { lr: cfg.initial, best: null, wait: 0, cooldownCounter: 0 };
}

/** Keras ReduceLROnPlateau.on_epoch_end: call once per epoch with the monitored value; returns
 *  the learning rate from now on. */
export function plateauUpdate(cfg: PlateauConfig, state: PlateauState, value: number): number {
  if (state.cooldownCounter > 0) {
    state.cooldownCounter -= 1;
    state.wait = 0;
  }
  if (improved(value, state.best, resolveMode(cfg.monitor, cfg.mode), cfg.minDelta)) {
    state.best = value;
    state.wait = 0;
  } else if (state.cooldownCounter === 0) {
    state.wait += 1;
    if (state.wait >= cfg.patience && state.lr > cfg.minLr) {
      state.lr = Math.max(state.lr * cfg.factor, cfg.minLr);
      state.cooldownCounter = cfg.cooldown;
      state.wait = 0;
    }
  }
  return state.lr;
}

/** Refuses a schedule that cannot run, naming the field: `decaySteps must be > 0, got 0`. */
export function validateSchedule(cfg: ScheduleConfig, path = 'learningRate'): void {
  const fail = (field: string, message: string): never => {
    throw new CoreError(`${path}.${field}`, message);
  };
  const positive = (field: string, value: number): void => {
    if (!Number.isFinite(value) || value <= 0) fail(field, `${field} must be > 0, got ${value}`);
  };
  const nonNegative = (field: string, value: number): void => {
    if (!Number.isFinite(value) || value < 0) fail(field, `${field} must be >= 0, got ${value}`);
  };
  const count = (field: string, value: number, min: number): void => {
    if (!Number.isInteger(value) || value < min) fail(field, `${field} must be an integer >= ${min}, got ${value}`);
  };
  positive('initial', cfg.initial);
  count('warmupSteps', cfg.warmupSteps, 0);
  switch (cfg.schedule) {
    case 'constant':
      return;
    case 'step':
      positive('factor', cfg.factor);
      count('everyEpochs', cfg.everyEpochs, 1);
      return;
    case 'exponential':
      positive('decaySteps', cfg.decaySteps);
      positive('decayRate', cfg.decayRate);
      return;
    case 'inverse_time':
      positive('decaySteps', cfg.decaySteps);
      nonNegative('decayRate', cfg.decayRate);
      return;
    case 'cosine':
      positive('decaySteps', cfg.decaySteps);
      if (!(cfg.alpha >= 0 && cfg.alpha <= 1)) fail('alpha', `alpha must be in [0, 1], got ${cfg.alpha}`);
      if (cfg.restarts) {
        // tMul < 1 shrinks the periods towards 0: the restarts would end after finitely many steps.
        if (!Number.isFinite(cfg.tMul) || cfg.tMul < 1) fail('tMul', `tMul must be >= 1, got ${cfg.tMul}`);
        positive('mMul', cfg.mMul);
      }
      return;
    case 'polynomial':
      positive('decaySteps', cfg.decaySteps);
      nonNegative('endLearningRate', cfg.endLearningRate);
      positive('power', cfg.power);
      return;
    case 'reduce_on_plateau':
      // Keras refuses factor >= 1: the schedule only ever lowers the rate.
      if (!(cfg.factor > 0 && cfg.factor < 1)) fail('factor', `factor must be in (0, 1), got ${cfg.factor}`);
      count('patience', cfg.patience, 0);
      count('cooldown', cfg.cooldown, 0);
      nonNegative('minLr', cfg.minLr);
      nonNegative('minDelta', cfg.minDelta);
      if (typeof cfg.monitor !== 'string' || cfg.monitor.length === 0) {
        fail('monitor', `monitor must name a metric, got ${JSON.stringify(cfg.monitor)}`);
      }
      if (!['min', 'max', 'auto'].includes(cfg.mode)) {
        fail('mode', `mode must be min, max or auto, got ${JSON.stringify(cfg.mode)}`);
      }
      return;
    default:
      fail('schedule', `unknown schedule ${JSON.stringify((cfg as { schedule: unknown }).schedule)}`);
  }
}
