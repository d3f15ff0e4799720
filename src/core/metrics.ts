// Per-epoch metrics accumulated batch by batch: mean loss, accuracy for classification, MAE/RMSE/R²
// for regression. Predictions are the transformed outputs (probabilities, or values for regression),
// exactly what `predict` returns, so a caller recomputing a score from predictions gets the same number.
// B batch, O outputs, N samples.

import type { EpochMetrics, LossConfig, Task } from './types.js';

export function taskOf(loss: LossConfig): Task {
  return loss.type === 'softmax_cross_entropy' || loss.type === 'binary_cross_entropy' ? 'classification' : 'regression';
}

/** An epoch's value of the named metric (e.g. "val_loss"); NaN when the epoch has none. */
export function metricValue(m: EpochMetrics, name: string): number {
  const v = (m as unknown as Record<string, number | undefined>)[name];
  return v ?? NaN;
}

/** Running sums over one pass; allocated once, reset per epoch. Sums are float64. */
export interface MetricsAccumulator {
  loss: LossConfig['type'];
  O: number;
  samples: number;
  lossSum: number;
  correct: number;
  judged: number;
  absSum: number;
  sqSum: number;
  /** Per output column: Σ(ŷ − y)² and Σ(y − ȳ)², with ȳ the column mean of the whole dataset. */
  sse: Float64Array;
  sst: Float64Array;
  yMean: Float64Array;
}

export interface PassMetrics {
  loss: number;
  accuracy?: number;
  mae?: number;
  rmse?: number;
  r2?: number;
}

/** `yMean` (per-column target means of the dataset scored) is needed for R²; see `columnMeans`. */
export function createMetrics(loss: LossConfig, O: number, yMean: Float64Array): MetricsAccumulator {
  return {
    loss: loss.type,
    O,
    samples: 0,
    lossSum: 0,
    correct: 0,
    judged: 0,
    absSum: 0,
    sqSum: 0,
    sse: new Float64Array(O),
    sst: new Float64Array(O),
    yMean,
  };
}

export function resetMetrics(acc: MetricsAccumulator): void {
  acc.samples = 0;
  acc.lossSum = 0;
  acc.correct = 0;
  acc.judged = 0;
  acc.absSum = 0;
  acc.sqSum = 0;
  acc.sse.fill(0);
  acc.sst.fill(0);
}

/** Per-column means of Y [N × width], in float64. */
export function columnMeans(y: Float32Array, N: number, width: number): Float64Array {
  const mean = new Float64Array(width);
  for (let i = 0; i < N; i++) for (let j = 0; j < width; j++) mean[j]! += y[i * width + j]!;
  for (let j = 0; j < width; j++) mean[j] = N > 0 ? mean[j]! / N : 0;
  return mean;
}

function argmax(a: Float32Array, start: number, width: number): number {
  let best = 0;
  let bestValue = a[start]!;
  for (let j = 1; j < width; j++) {
    const v = a[start + j]!;
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/**
 * Adds one batch: `batchLoss` is the batch's mean loss, `pred` [B × O] the transformed outputs,
 * `y` [B × targetWidth] the targets (class indices when softmax cross-entropy has targetWidth 1).
 * `hits`: for softmax cross-entropy, the rows predicted right when the loss pass counted them
 * (lossAndGradient's hits); NaN: count them here.
 */
export function accumulateMetrics(
  acc: MetricsAccumulator,
  batchLoss: number,
  pred: Float32Array,
  y: Float32Array,
  B: number,
  targetWidth: number,
  hits = NaN,
): void {
  const O = acc.O;
  acc.samples += B;
  acc.lossSum += batchLoss * B;
  if (acc.loss === 'softmax_cross_entropy' && !Number.isNaN(hits)) {
    // Counted in the loss pass (lossAndGradient's hits): the same argmax, in the backend.
    acc.correct += hits;
    acc.judged += B;
  } else if (acc.loss === 'softmax_cross_entropy') {
    for (let i = 0; i < B; i++) {
      const label = targetWidth === 1 ? y[i]! : argmax(y, i * targetWidth, targetWidth);
      if (argmax(pred, i * O, O) === label) acc.correct++;
    }
    acc.judged += B;
  } else if (acc.loss === 'binary_cross_entropy') {
    // Keras's binary accuracy: each output is its own yes/no question, thresholded at 0.5.
    for (let k = 0; k < B * O; k++) {
      if ((pred[k]! > 0.5) === (y[k]! > 0.5)) acc.correct++;
    }
    acc.judged += B * O;
  } else {
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < O; j++) {
        const target = y[i * O + j]!;
        const e = pred[i * O + j]! - target;
        const d = target - acc.yMean[j]!;
        acc.absSum += Math.abs(e);
        acc.sqSum += e * e;
        acc.sse[j]! += e * e;
        acc.sst[j]! += d * d;
      }
    }
  }
}

/** R² averaged over output columns (sklearn's uniform_average); a constant column scores 1 if fit exactly, else 0. */
function r2(acc: MetricsAccumulator): number {
  let sum = 0;
  for (let j = 0; j < acc.O; j++) {
    const sst = acc.sst[j]!;
    const sse = acc.sse[j]!;
    sum += sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0;
  }
  return sum / acc.O;
}

export function finishMetrics(acc: MetricsAccumulator): PassMetrics {
  const n = acc.samples;
  const out: PassMetrics = { loss: n > 0 ? acc.lossSum / n : NaN };
  if (acc.loss === 'softmax_cross_entropy' || acc.loss === 'binary_cross_entropy') {
    out.accuracy = acc.judged > 0 ? acc.correct / acc.judged : NaN;
  } else {
    const count = n * acc.O;
    out.mae = count > 0 ? acc.absSum / count : NaN;
    out.rmse = count > 0 ? Math.sqrt(acc.sqSum / count) : NaN;
    out.r2 = n > 0 ? r2(acc) : NaN;
  }
  return out;
}

/** One-shot scoring of whole arrays of predictions (loss not included): for tests and callers of `predict`. */
export function scorePredictions(
  loss: LossConfig,
  pred: Float32Array,
  y: Float32Array,
  N: number,
  O: number,
  targetWidth: number,
): Omit<PassMetrics, 'loss'> {
  const yMean = taskOf(loss) === 'regression' ? columnMeans(y, N, targetWidth) : new Float64Array(O);
  const acc = createMetrics(loss, O, yMean);
  accumulateMetrics(acc, 0, pred, y, N, targetWidth);
  const { loss: _unused, ...rest } = finishMetrics(acc);
  return rest;
}
