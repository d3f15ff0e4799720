// Scoring a run: the loss (with the weight penalty, as Keras reports it) and metrics of the current
// weights on a dataset, and the record of a finished epoch that the hooks and checkpoints carry.
// B batch, I inputs, O outputs, T target width.

import { gatherInto } from './batches.js';
import { BYTE_VALUES } from './data.js';
import { lossAndGradient } from './losses.js';
import { accumulateMetrics, finishMetrics, resetMetrics, type MetricsAccumulator, type PassMetrics } from './metrics.js';
import { modelForward } from './model.js';
import { regularizationPenalty } from './regularization.js';
import type { TrainingRun } from './run-state.js';
import type { Dataset, EpochMetrics } from './types.js';

/** Scores the current weights on `ds` in chunks of up to maxBatch rows (inference mode: no dropout). */
export function evaluate(run: TrainingRun, ds: Dataset, acc: MetricsAccumulator): PassMetrics {
  const { config, model, pred } = run;
  const I = ds.features;
  const T = ds.targetWidth;
  const O = model.outputWidth;
  const chunk = model.maxBatch;
  resetMetrics(acc);
  for (let start = 0; start < ds.n; start += chunk) {
    const B = Math.min(chunk, ds.n - start);
    let X: Float32Array;
    let Y: Float32Array;
    if (ds.rows !== undefined) {
      // A view: its rows gathered as the mini-batches are (bytes become the same floats).
      gatherInto(model.kernels, ds, ds.rows, start, B, run.evalX!, run.evalY!);
      X = run.evalX!.subarray(0, B * I);
      Y = run.evalY!.subarray(0, B * T);
    } else {
      X = featureRows(ds.x, I, start, B, run.evalX, run);
      Y = ds.y.subarray(start * T, (start + B) * T);
    }
    const out = modelForward(model, X, B, false, run.position.rng);
    const loss = lossAndGradient(config.loss, out, Y, pred, null, B, O, T, model.kernels, run.hits);
    accumulateMetrics(acc, loss, pred, Y, B, T, run.hits[0]);
  }
  const result = finishMetrics(acc);
  result.loss += regularizationPenalty(model.params, config.regularization.l1, config.regularization.l2);
  return result;
}

/** Rows [start, start + B) of x as floats: a view of float features, or bytes converted into `scratch`. */
function featureRows(x: Float32Array | Uint8Array, I: number, start: number, B: number, scratch: Float32Array | null, run: TrainingRun): Float32Array {
  if (x instanceof Float32Array) return x.subarray(start * I, (start + B) * I);
  const out = scratch!;
  const k = run.model.kernels;
  if (k.gatherByteRows !== undefined) {
    // The backend's byte conversion (the same floats), rows 0…B−1 of the chunk in order.
    if (run.evalOrder === null || run.evalOrder.length < B) run.evalOrder = Int32Array.from({ length: B }, (_, i) => i);
    k.gatherByteRows(x.subarray(start * I, (start + B) * I), I, run.evalOrder, 0, B, out);
    return out.subarray(0, B * I);
  }
  for (let i = 0, from = start * I; i < B * I; i++) out[i] = BYTE_VALUES[x[from + i]!]!;
  return out.subarray(0, B * I);
}

/** The record of the epoch that just finished (numbered position.epoch + 1), with its timings. */
export function epochMetrics(run: TrainingRun, trained: PassMetrics, validated: PassMetrics | null, started: number, trainedAt: number): EpochMetrics {
  const { position, data } = run;
  const m: EpochMetrics = { epoch: position.epoch + 1, step: position.step, loss: trained.loss } as EpochMetrics;
  if (data.task === 'classification') {
    m.accuracy = trained.accuracy!;
  } else {
    m.mae = trained.mae!;
    m.rmse = trained.rmse!;
    m.r2 = trained.r2!;
  }
  if (validated !== null) {
    m.val_loss = validated.loss;
    if (data.task === 'classification') {
      m.val_accuracy = validated.accuracy!;
    } else {
      m.val_mae = validated.mae!;
      m.val_rmse = validated.rmse!;
      m.val_r2 = validated.r2!;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const trainSeconds = (trainedAt - started) / 1000;
  m.lr = position.lr;
  m.seconds = seconds;
  m.samplesPerSec = trainSeconds > 0 ? run.scores.train.samples / trainSeconds : 0;
  return m;
}
