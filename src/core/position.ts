// Where a run is: completed epochs, optimizer steps, the learning rate in use, the RNG (dropout
// masks and shuffles), and the point a half-finished epoch rolls back to, so a run that stops
// mid-epoch ends on the last completed epoch's weights, step and metrics together.

import { loadWeights, saveWeights, type Param } from './model.js';
import type { Rng } from './rng.js';
import type { EpochMetrics } from './types.js';

export interface LoopPosition {
  /** Completed epochs (a 1-based count), and optimizer updates so far. */
  epoch: number;
  step: number;
  /** The learning rate of the latest update (before the first: the schedule's rate at step 0). */
  lr: number;
  rng: Rng;
  /** The last completed epoch's metrics. */
  last: EpochMetrics | null;
  /** The step the current epoch started at and the weights then: where a half-finished epoch rolls back to. */
  epochStartStep: number;
  epochStartWeights: Float32Array[];
  /** True once the current epoch has changed the weights. */
  midEpoch: boolean;
}

export function createPosition(params: readonly Param[], rng: Rng, lr: number): LoopPosition {
  return {
    epoch: 0,
    step: 0,
    lr,
    rng,
    last: null,
    epochStartStep: 0,
    epochStartWeights: params.map((p) => Float32Array.from(p.data)),
    midEpoch: false,
  };
}

export function startEpoch(position: LoopPosition): void {
  position.epochStartStep = position.step;
}

export function stepTaken(position: LoopPosition, lr: number): void {
  position.lr = lr;
  position.step += 1;
  position.midEpoch = true;
}

/** Records a finished epoch: `metrics` must be numbered position.epoch + 1. */
export function completeEpoch(position: LoopPosition, params: readonly Param[], metrics: EpochMetrics): void {
  position.epoch = metrics.epoch;
  position.last = metrics;
  saveWeights(params, position.epochStartWeights);
  position.midEpoch = false;
}

/** Undoes a half-finished epoch: weights and step go back to where it started (in the first epoch: the initial weights, step 0). */
export function rollBackPartialEpoch(position: LoopPosition, params: readonly Param[]): void {
  if (!position.midEpoch) return;
  loadWeights(position.epochStartWeights, params);
  position.step = position.epochStartStep;
}
