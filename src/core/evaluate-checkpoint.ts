// Scoring a checkpoint on a labelled dataset (Keras's model.evaluate plus sklearn's
// classification report): the loss as training reports it (with the weight penalty), accuracy,
// per-class precision/recall/F1 and the confusion matrix for classifiers; MAE, RMSE and R² for
// regressors. The same accumulators as training's validation pass, so evaluating the validation
// rows reproduces that epoch's val_* figures.
// B batch, O outputs, T target width, N samples, C classes.

import type { Checkpoint } from './checkpoint.js';
import { BYTE_VALUES, standardize } from './data.js';
import { CoreError } from './errors.js';
import { inferenceOf } from './inference.js';
import { lossAndGradient } from './losses.js';
import { accumulateMetrics, columnMeans, createMetrics, finishMetrics, taskOf } from './metrics.js';
import { regularizationPenalty } from './regularization.js';
import type { Dataset, Task } from './types.js';

/** Rows per forward pass; the figures do not depend on it beyond float64 summation order. */
const CHUNK = 256;

export interface ClassReport {
  /** TP / (TP + FP); 0 when the class was never predicted (sklearn's zero_division=0). */
  precision: number;
  /** TP / (TP + FN); 0 when the class never occurs. */
  recall: number;
  f1: number;
  /** Rows whose true class (or label, multi-label) this is. */
  support: number;
}

export interface Evaluation {
  task: Task;
  rows: number;
  /** Mean loss plus the L1/L2 penalty, as training's loss and val_loss. */
  loss: number;
  accuracy?: number;
  /** Classifiers: one entry per class (per output label for multi-label binary cross-entropy). */
  classes?: ClassReport[];
  /** Unweighted and support-weighted means of the per-class figures. */
  macro?: { precision: number; recall: number; f1: number };
  weighted?: { precision: number; recall: number; f1: number };
  /** [true class][predicted class] counts; null for multi-label outputs. */
  confusionMatrix?: number[][] | null;
  mae?: number;
  rmse?: number;
  r2?: number;
}

function argmax(a: Float32Array, start: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (a[start + j]! > a[start + best]!) best = j;
  return best;
}

function report(tp: number, fp: number, fn: number, support: number): ClassReport {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, support };
}

function averages(classes: ClassReport[]): Pick<Evaluation, 'macro' | 'weighted'> {
  const total = classes.reduce((s, c) => s + c.support, 0);
  const mean = (f: (c: ClassReport) => number, w: (c: ClassReport) => number, d: number) => (d > 0 ? classes.reduce((s, c) => s + f(c) * w(c), 0) / d : 0);
  const pick = (w: (c: ClassReport) => number, d: number) => ({
    precision: mean((c) => c.precision, w, d),
    recall: mean((c) => c.recall, w, d),
    f1: mean((c) => c.f1, w, d),
  });
  return { macro: pick(() => 1, classes.length), weighted: pick((c) => c.support, total) };
}

function checkTargets(ckpt: Checkpoint, data: Dataset): void {
  const O = ckpt.outputWidth;
  const T = data.targetWidth;
  if (data.features !== ckpt.inputWidth) {
    throw new CoreError('dataset', `the dataset has ${data.features} features, the model takes ${ckpt.inputWidth} inputs`);
  }
  if (data.n < 1) throw new CoreError('dataset', 'the dataset has no rows');
  const loss = ckpt.config.loss.type;
  if (loss === 'softmax_cross_entropy' && T === 1) {
    for (let i = 0; i < data.n; i++) {
      const c = data.y[i]!;
      if (!Number.isInteger(c) || c < 0 || c >= O) throw new CoreError('dataset', `class label at row ${i} must be an integer in [0, ${O}) for this model, got ${c}`);
    }
  } else if (T !== O) {
    throw new CoreError('dataset', `the dataset's targets are ${T} wide, the model has ${O} outputs`);
  }
}

/** Scores the checkpoint's model on every row of `data` (features as the model was trained on, before its standardization). */
export function evaluateCheckpoint(ckpt: Checkpoint, data: Dataset): Evaluation {
  checkTargets(ckpt, data);
  const { config, model } = ckpt;
  const I = ckpt.inputWidth;
  const O = ckpt.outputWidth;
  const T = data.targetWidth;
  const N = data.n;
  const task = taskOf(config.loss);
  const acc = createMetrics(config.loss, O, task === 'regression' ? columnMeans(data.y, N, T) : new Float64Array(O));
  const softmax = config.loss.type === 'softmax_cross_entropy';
  const binary = config.loss.type === 'binary_cross_entropy';
  // Single-label classes: C = O for softmax, 2 for one sigmoid output; multi-label: one 2×2 per output.
  const C = softmax ? O : binary && O === 1 ? 2 : 0;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const labelCounts = binary && O > 1 ? Array.from({ length: O }, () => ({ tp: 0, fp: 0, fn: 0, support: 0 })) : [];

  const x = new Float32Array(CHUNK * I);
  const pred = new Float32Array(CHUNK * O);
  const inference = inferenceOf(model);
  for (let start = 0; start < N; start += CHUNK) {
    const B = Math.min(CHUNK, N - start);
    const X = x.subarray(0, B * I);
    const rows = data.x.subarray(start * I, (start + B) * I);
    // Byte features (IDX pixels) stand for byte / 255, as in training.
    if (rows instanceof Uint8Array) for (let k = 0; k < rows.length; k++) X[k] = BYTE_VALUES[rows[k]!]!;
    else X.set(rows);
    if (ckpt.normalization !== null) standardize(X, B, I, ckpt.normalization, X);
    const Y = data.y.subarray(start * T, (start + B) * T);
    const out = inference.run(X, B);
    const loss = lossAndGradient(config.loss, out, Y, pred, null, B, O, T, model.kernels);
    accumulateMetrics(acc, loss, pred, Y, B, T);
    for (let r = 0; r < B; r++) {
      if (softmax) {
        const truth = T === 1 ? Y[r]! : argmax(Y, r * T, T);
        confusion[truth]![argmax(pred, r * O, O)]! += 1;
      } else if (C === 2) {
        confusion[Y[r]! > 0.5 ? 1 : 0]![pred[r]! > 0.5 ? 1 : 0]! += 1;
      } else {
        for (let j = 0; j < labelCounts.length; j++) {
          const truth = Y[r * T + j]! > 0.5;
          const guess = pred[r * O + j]! > 0.5;
          const c = labelCounts[j]!;
          if (truth) c.support++;
          if (truth && guess) c.tp++;
          else if (guess) c.fp++;
          else if (truth) c.fn++;
        }
      }
    }
  }
  const pass = finishMetrics(acc);
  const result: Evaluation = { task, rows: N, loss: pass.loss + regularizationPenalty(model.params, config.regularization.l1, config.regularization.l2) };
  if (task === 'regression') return { ...result, mae: pass.mae!, rmse: pass.rmse!, r2: pass.r2! };
  let classes: ClassReport[];
  if (C > 0) {
    classes = confusion.map((row, k) => {
      const tp = row[k]!;
      const support = row.reduce((s, v) => s + v, 0);
      const predicted = confusion.reduce((s, r) => s + r[k]!, 0);
      return report(tp, predicted - tp, support - tp, support);
    });
  } else {
    classes = labelCounts.map((c) => report(c.tp, c.fp, c.fn, c.support));
  }
  return { ...result, accuracy: pass.accuracy!, classes, ...averages(classes), confusionMatrix: C > 0 ? confusion : null };
}
