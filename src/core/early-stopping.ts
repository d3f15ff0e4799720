// Early stopping with Keras's EarlyStopping semantics (keras 3): monitor, mode, patience,
// minDelta, startFromEpoch, baseline, and the bookkeeping restoreBest needs. State is plain JSON.

import { CoreError } from './errors.js';
import type { EarlyStoppingConfig } from './types.js';

/** `best` null = nothing seen yet (Keras's ±inf, which JSON cannot hold). Epochs count from 1
 *  like the metrics records; 0 in bestEpoch/stoppedEpoch means "none". */
export interface EarlyStoppingState {
  wait: number;
  best: number | null;
  bestEpoch: number;
  stoppedEpoch: number;
}

export type Direction = 'min' | 'max';

// Metrics that improve upwards; anything else (loss, mae, rmse, …) improves downwards.
const MAXIMIZED = new Set(['accuracy', 'acc', 'r2', 'auc']);

/** 'auto' picks the direction from the metric's name, ignoring a `val_` prefix. */
export function resolveMode(monitor: string, mode: 'min' | 'max' | 'auto'): Direction {
  if (mode !== 'auto') return mode;
  return MAXIMIZED.has(monitor.replace(/^val_/, '')) ? 'max' : 'min';
}

/** Keras's `_is_improvement`: better than `best` by more than minDelta. NaN never improves. */
export function improved(current: number, best: number | null, direction: Direction, minDelta: number): boolean {
  if (direction === 'min') return current + minDelta < (best ?? Infinity);
  return current - minDelta > (best ?? -Infinity);
}

export function createEarlyStopping(): EarlyStoppingState {
  return { wait: 0, best: null, bestEpoch: 0, stoppedEpoch: 0 };
}

/** Call once per finished epoch with the monitored value. After it, `state.bestEpoch === epoch`
 *  means this epoch's weights are the ones restoreBest should keep. */
export function earlyStoppingUpdate(
  cfg: EarlyStoppingConfig,
  state: EarlyStoppingState,
  epoch: number,
  value: number,
): 'continue' | 'stop' {
  // Keras skips 0-based epochs < startFromEpoch, i.e. the first startFromEpoch epochs.
  if (epoch <= cfg.startFromEpoch) return 'continue';
  const direction = resolveMode(cfg.monitor, cfg.mode);
  // If nothing ever improves (NaN from the start), the first monitored epoch is still the best.
  if (cfg.restoreBest && state.bestEpoch === 0) state.bestEpoch = epoch;
  state.wait += 1;
  if (improved(value, state.best, direction, cfg.minDelta)) {
    state.best = value;
    state.bestEpoch = epoch;
    // Patience restarts only once the baseline is beaten too.
    if (cfg.baseline === null || improved(value, cfg.baseline, direction, cfg.minDelta)) state.wait = 0;
    return 'continue';
  }
  if (state.wait >= cfg.patience && epoch > 1) {
    state.stoppedEpoch = epoch;
    return 'stop';
  }
  return 'continue';
}

export function validateEarlyStopping(cfg: EarlyStoppingConfig, path = 'earlyStopping'): void {
  const count = (field: 'patience' | 'startFromEpoch', value: number): void => {
    if (!Number.isInteger(value) || value < 0) {
      throw new CoreError(`${path}.${field}`, `${field} must be an integer >= 0, got ${value}`);
    }
  };
  if (typeof cfg.monitor !== 'string' || cfg.monitor.length === 0) {
    throw new CoreError(`${path}.monitor`, `monitor must name a metric, got ${JSON.stringify(cfg.monitor)}`);
  }
  if (!['min', 'max', 'auto'].includes(cfg.mode)) {
    throw new CoreError(`${path}.mode`, `mode must be min, max or auto, got ${JSON.stringify(cfg.mode)}`);
  }
  count('patience', cfg.patience);
  count('startFromEpoch', cfg.startFromEpoch);
  if (!Number.isFinite(cfg.minDelta) || cfg.minDelta < 0) {
    throw new CoreError(`${path}.minDelta`, `minDelta must be >= 0, got ${cfg.minDelta}`);
  }
  if (cfg.baseline !== null && !Number.isFinite(cfg.baseline)) {
    throw new CoreError(`${path}.baseline`, `baseline must be a finite number or null, got ${cfg.baseline}`);
  }
}
