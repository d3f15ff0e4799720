// Losses on the model's output [B × O] against targets [B × targetWidth], each with its exact
// gradient. Softmax CE and BCE take logits and fuse their activation (log-sum-exp, log1p) for
// stability. Reduction is PyTorch's 'mean': CE over rows; BCE, MSE, MAE, Huber over all B·O entries.

import { sigmoid, softmaxRows } from './activations.js';
import { CoreError } from './errors.js';
import type { Kernels } from './kernels/kernels.js';
import type { LossConfig } from './types.js';

function checkTargetWidth(loss: LossConfig, O: number, targetWidth: number): void {
  const ok = loss.type === 'softmax_cross_entropy' ? targetWidth === 1 || targetWidth === O : targetWidth === O;
  if (!ok) {
    const want = loss.type === 'softmax_cross_entropy' ? `1 (class labels) or ${O} (distributions)` : `${O}`;
    throw new CoreError('dataset', `${loss.type} needs targets of width ${want} for ${O} outputs, got ${targetWidth}`);
  }
}

function labelAt(y: Float32Array, r: number, O: number): number {
  const c = y[r]!;
  if (!Number.isInteger(c) || c < 0 || c >= O) {
    throw new CoreError('dataset', `class label at row ${r} must be an integer in [0, ${O}), got ${c}`);
  }
  return c;
}

/** log Σ_j exp(z_j) over one row, max-subtracted. */
function logSumExp(z: Float32Array, off: number, O: number): number {
  let max = -Infinity;
  for (let j = 0; j < O; j++) max = Math.max(max, z[off + j]!);
  let sum = 0;
  for (let j = 0; j < O; j++) sum += Math.exp(z[off + j]! - max);
  return max + Math.log(sum);
}

/** The mean loss over the first B rows of `out`. */
export function lossForward(
  loss: LossConfig,
  out: Float32Array,
  y: Float32Array,
  B: number,
  O: number,
  targetWidth: number,
): number {
  checkTargetWidth(loss, O, targetWidth);
  const n = B * O;
  let total = 0;
  switch (loss.type) {
    case 'softmax_cross_entropy':
      for (let r = 0; r < B; r++) {
        const off = r * O;
        const lse = logSumExp(out, off, O);
        if (targetWidth === 1) {
          total += lse - out[off + labelAt(y, r, O)]!;
        } else {
          // −Σ_j y_j·log softmax(z)_j = Σ_j y_j·(lse − z_j)
          for (let j = 0; j < O; j++) total += y[off + j]! * (lse - out[off + j]!);
        }
      }
      return total / B;
    case 'binary_cross_entropy':
      for (let i = 0; i < n; i++) {
        const z = out[i]!;
        total += Math.max(z, 0) - z * y[i]! + Math.log1p(Math.exp(-Math.abs(z)));
      }
      return total / n;
    case 'mse':
      for (let i = 0; i < n; i++) {
        const d = out[i]! - y[i]!;
        total += d * d;
      }
      return total / n;
    case 'mae':
      for (let i = 0; i < n; i++) total += Math.abs(out[i]! - y[i]!);
      return total / n;
    case 'huber': {
      const delta = loss.delta;
      for (let i = 0; i < n; i++) {
        const a = Math.abs(out[i]! - y[i]!);
        total += a < delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
      }
      return total / n;
    }
  }
}

/**
 * The mean loss and outputTransform's probabilities together. For softmax CE that is one exp per
 * logit instead of one in each of lossForward, outputTransform and lossBackward (a tenth of a
 * large-batch step); the bits are those of lossForward then outputTransform. `probs` must not alias `out`.
 */
export function lossAndOutputs(
  loss: LossConfig,
  out: Float32Array,
  y: Float32Array,
  probs: Float32Array,
  B: number,
  O: number,
  targetWidth: number,
): number {
  if (loss.type !== 'softmax_cross_entropy') {
    const value = lossForward(loss, out, y, B, O, targetWidth);
    outputTransform(loss, out, probs, B, O);
    return value;
  }
  checkTargetWidth(loss, O, targetWidth);
  let total = 0;
  for (let r = 0; r < B; r++) {
    const off = r * O;
    // softmaxRows and logSumExp, sharing their max and their sum of exps.
    let max = -Infinity;
    for (let j = 0; j < O; j++) max = Math.max(max, out[off + j]!);
    let sum = 0;
    for (let j = 0; j < O; j++) {
      const e = Math.exp(out[off + j]! - max);
      probs[off + j] = e;
      sum += e;
    }
    const lse = max + Math.log(sum);
    const inv = 1 / sum;
    for (let j = 0; j < O; j++) probs[off + j]! *= inv;
    if (targetWidth === 1) {
      total += lse - out[off + labelAt(y, r, O)]!;
    } else {
      for (let j = 0; j < O; j++) total += y[off + j]! * (lse - out[off + j]!);
    }
  }
  return total / B;
}

/**
 * A training step's loss pass: the mean loss and the predictions (lossAndOutputs), and dOut as
 * lossBackward computes it from them, in one pass where the backend has softmax cross-entropy over
 * class labels (its bits are these functions'). With dOut null, only the loss and predictions (scoring).
 * hits, when given: hits[0] = the rows whose predicted class is their label if that pass counted them
 * (accumulateMetrics then need not), else NaN.
 */
export function lossAndGradient(
  loss: LossConfig,
  out: Float32Array,
  y: Float32Array,
  probs: Float32Array,
  dOut: Float32Array | null,
  B: number,
  O: number,
  targetWidth: number,
  kernels: Kernels,
  hits?: Float64Array,
): number {
  if (hits !== undefined) hits[0] = NaN;
  if (loss.type === 'softmax_cross_entropy' && targetWidth === 1 && kernels.softmaxCrossEntropy !== undefined) {
    const total = kernels.softmaxCrossEntropy(out, y, probs, dOut, B, O, hits);
    if (total !== null) return total / B;
    if (hits !== undefined) hits[0] = NaN;
  }
  const value = lossAndOutputs(loss, out, y, probs, B, O, targetWidth);
  if (dOut !== null) lossBackward(loss, out, y, dOut, B, O, targetWidth, probs);
  return value;
}

/** dOut = ∂(mean loss)/∂out over the first B rows (overwritten). `probs`: outputTransform's result
 *  for these rows when the caller has it (lossAndOutputs), so softmax CE need not compute it again. */
export function lossBackward(
  loss: LossConfig,
  out: Float32Array,
  y: Float32Array,
  dOut: Float32Array,
  B: number,
  O: number,
  targetWidth: number,
  probs?: Float32Array,
): void {
  checkTargetWidth(loss, O, targetWidth);
  const n = B * O;
  switch (loss.type) {
    case 'softmax_cross_entropy': {
      // ∂/∂z_i = (softmax(z)_i·Σ_j y_j − y_i)/B; with labels y is one-hot.
      const scale = 1 / B;
      if (probs !== undefined) {
        for (let i = 0; i < n; i++) dOut[i] = probs[i]!;
      } else {
        softmaxRows(out, dOut, B, O);
      }
      for (let r = 0; r < B; r++) {
        const off = r * O;
        if (targetWidth === 1) {
          for (let j = 0; j < O; j++) dOut[off + j]! *= scale;
          dOut[off + labelAt(y, r, O)]! -= scale;
        } else {
          let mass = 0;
          for (let j = 0; j < O; j++) mass += y[off + j]!;
          for (let j = 0; j < O; j++) dOut[off + j] = (dOut[off + j]! * mass - y[off + j]!) * scale;
        }
      }
      return;
    }
    case 'binary_cross_entropy': {
      const scale = 1 / n;
      for (let i = 0; i < n; i++) dOut[i] = (sigmoid(out[i]!) - y[i]!) * scale;
      return;
    }
    case 'mse': {
      const scale = 2 / n;
      for (let i = 0; i < n; i++) dOut[i] = (out[i]! - y[i]!) * scale;
      return;
    }
    case 'mae': {
      // sign(0) = 0, as PyTorch.
      const scale = 1 / n;
      for (let i = 0; i < n; i++) dOut[i] = Math.sign(out[i]! - y[i]!) * scale;
      return;
    }
    case 'huber': {
      const delta = loss.delta;
      const scale = 1 / n;
      for (let i = 0; i < n; i++) {
        const d = out[i]! - y[i]!;
        dOut[i] = (d > delta ? delta : d < -delta ? -delta : d) * scale;
      }
      return;
    }
  }
}

/** Model output → prediction: probabilities for the fused losses (softmax CE, BCE), else unchanged. */
export function outputTransform(loss: LossConfig, out: Float32Array, probs: Float32Array, B: number, O: number): void {
  const n = B * O;
  switch (loss.type) {
    case 'softmax_cross_entropy':
      softmaxRows(out, probs, B, O);
      return;
    case 'binary_cross_entropy':
      for (let i = 0; i < n; i++) probs[i] = sigmoid(out[i]!);
      return;
    default:
      if (probs !== out) probs.set(out.subarray(0, n));
  }
}
