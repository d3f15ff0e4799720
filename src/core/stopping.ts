// When to stop before the epoch limit, in Keras's callback order: early stopping (with the weights
// restoreBest puts back), sklearn's convergence test on the training loss, and reduce-on-plateau's
// learning-rate cuts, which share the per-epoch rhythm though they never stop the run.

import { createEarlyStopping, earlyStoppingUpdate, type EarlyStoppingState } from './early-stopping.js';
import { metricValue } from './metrics.js';
import { loadWeights, saveWeights, type Param } from './model.js';
import { createPlateauState, plateauUpdate, type PlateauState } from './schedules.js';
import type { EpochMetrics, StopReason, TrainConfig } from './types.js';

/** sklearn's convergence test on the training loss: `best` null = nothing seen yet. */
export interface ConvergenceState {
  best: number | null;
  wait: number;
}

export interface Stopping {
  earlyStopping: EarlyStoppingState | null;
  convergence: ConvergenceState | null;
  plateau: PlateauState | null;
  /** The metrics and weights of the epoch early stopping ranks best: what restoreBest puts back. */
  bestMetrics: EpochMetrics | null;
  bestWeights: Float32Array[] | null;
  /** Set when the run decided to stop at the last completed epoch (so a resumed run stops there too). */
  stopped: StopReason | null;
}

export function createStopping(config: TrainConfig): Stopping {
  const schedule = config.learningRate;
  return {
    earlyStopping: config.earlyStopping === null ? null : createEarlyStopping(),
    convergence: config.convergence === null ? null : { best: null, wait: 0 },
    plateau: schedule.schedule === 'reduce_on_plateau' ? createPlateauState(schedule) : null,
    bestMetrics: null,
    bestWeights: null,
    stopped: null,
  };
}

/** Runs the rules on a finished epoch (whose weights `params` hold); returns why to stop, or null. */
export function applyStoppingRules(config: TrainConfig, stopping: Stopping, metrics: EpochMetrics, params: readonly Param[]): StopReason | null {
  let reason: StopReason | null = null;
  const es = config.earlyStopping;
  if (es !== null && stopping.earlyStopping !== null) {
    if (earlyStoppingUpdate(es, stopping.earlyStopping, metrics.epoch, metricValue(metrics, es.monitor)) === 'stop') {
      reason = 'early_stopped';
    }
    if (es.restoreBest && stopping.earlyStopping.bestEpoch === metrics.epoch) {
      stopping.bestWeights ??= params.map((p) => new Float32Array(p.data.length));
      saveWeights(params, stopping.bestWeights);
      stopping.bestMetrics = metrics;
    }
  }
  const c = stopping.convergence;
  if (config.convergence !== null && c !== null) {
    // sklearn's MLP: no improvement = loss > best − tol; stop after more than nIterNoChange in a row.
    c.wait = metrics.loss > (c.best ?? Infinity) - config.convergence.tol ? c.wait + 1 : 0;
    if (metrics.loss < (c.best ?? Infinity)) c.best = metrics.loss;
    if (c.wait > config.convergence.nIterNoChange) reason ??= 'converged';
  }
  const schedule = config.learningRate;
  if (schedule.schedule === 'reduce_on_plateau' && stopping.plateau !== null) {
    plateauUpdate(schedule, stopping.plateau, metricValue(metrics, schedule.monitor));
  }
  stopping.stopped = reason;
  return reason;
}

/**
 * With restoreBest, puts early stopping's best weights back into `params` when the run ended on
 * another epoch, and returns that epoch's metrics; else null (nothing changed).
 */
export function restoreBestWeights(config: TrainConfig, stopping: Stopping, lastEpoch: number, params: readonly Param[]): EpochMetrics | null {
  const { bestMetrics, bestWeights } = stopping;
  if (!config.earlyStopping?.restoreBest || bestWeights === null || bestMetrics === null || bestMetrics.epoch === lastEpoch) return null;
  loadWeights(bestWeights, params);
  return bestMetrics;
}
