// evaluateCheckpoint against an independent computation from predict()'s outputs (plain loops
// here, in float64), and against training's own validation figures for the same rows.
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, predict } from '../../src/core/checkpoint.js';
import { splitHoldout } from '../../src/core/data.js';
import { CoreError } from '../../src/core/errors.js';
import { evaluateCheckpoint } from '../../src/core/evaluate-checkpoint.js';
import { decodeSafetensors } from '../../src/core/safetensors.js';
import { train } from '../../src/core/train.js';
import type { Dataset, TrainConfig } from '../../src/core/types.js';
import { config, dense, regression, spirals } from './train-helpers.js';

/** Three noisy blobs: a 3-class problem a small model gets mostly, not entirely, right. */
function blobs(perClass: number): Dataset {
  let s = 5;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 4294967296);
  const centres = [[0, 0], [1.2, 0.3], [0.4, 1.1]];
  const n = 3 * perClass;
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    x[2 * i] = centres[c]![0]! + (rand() - 0.5) * 1.4;
    x[2 * i + 1] = centres[c]![1]! + (rand() - 0.5) * 1.4;
    y[i] = c;
  }
  return { x, y, n, features: 2, targetWidth: 1 };
}

function l2Penalty(bytes: Uint8Array, l2: number): number {
  let sum = 0;
  for (const [name, t] of decodeSafetensors(bytes).tensors) if (name.endsWith('.weight')) for (const w of t.data) sum += w * w;
  return l2 * sum;
}

describe('evaluateCheckpoint', () => {
  it('classifier: loss, accuracy, per-class precision/recall/F1 and the confusion matrix match a computation from predict()', async () => {
    const cfg: TrainConfig = config({ layers: [dense(8, 'tanh'), dense(3)], epochs: 3, regularization: { l1: 0, l2: 1e-3 }, normalize: 'standard', seed: 4 });
    const data = splitHoldout(blobs(60), 0.25, 4);
    const result = await train(cfg, data);
    const ckpt = loadCheckpoint(result.checkpoint);
    const test = blobs(40);
    const ev = evaluateCheckpoint(ckpt, test);

    const { outputs } = predict(ckpt, test.x as Float32Array, test.n);
    const C = 3;
    const cm = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    let nll = 0;
    for (let i = 0; i < test.n; i++) {
      const p = Array.from(outputs.subarray(i * C, i * C + C));
      const truth = test.y[i]!;
      cm[truth]![p.indexOf(Math.max(...p))]! += 1;
      nll -= Math.log(p[truth]!);
    }
    expect(ev.confusionMatrix).toEqual(cm);
    expect(ev.rows).toBe(test.n);
    const correct = cm.reduce((s, row, k) => s + row[k]!, 0);
    expect(ev.accuracy).toBeCloseTo(correct / test.n, 12);
    // Not a perfect model, so precision and recall differ from 1 and from each other somewhere.
    expect(correct).toBeLessThan(test.n);
    for (let k = 0; k < C; k++) {
      const tp = cm[k]![k]!;
      const predicted = cm.reduce((s, row) => s + row[k]!, 0);
      const actual = cm[k]!.reduce((s, v) => s + v, 0);
      const precision = predicted === 0 ? 0 : tp / predicted;
      const recall = tp / actual;
      expect(ev.classes![k]!.precision).toBeCloseTo(precision, 12);
      expect(ev.classes![k]!.recall).toBeCloseTo(recall, 12);
      expect(ev.classes![k]!.f1).toBeCloseTo(precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall), 12);
      expect(ev.classes![k]!.support).toBe(actual);
    }
    expect(ev.macro!.f1).toBeCloseTo(ev.classes!.reduce((s, c) => s + c.f1, 0) / C, 12);
    // Cross-entropy from the probabilities, plus Keras's l2·Σw² over the weights (not the biases).
    expect(ev.loss).toBeCloseTo(nll / test.n + l2Penalty(result.checkpoint, 1e-3), 5);
  });

  it("reproduces training's val_loss and val_accuracy on the validation rows", async () => {
    const cfg = config({ layers: [dense(16, 'relu'), dense(2)], epochs: 4, normalize: 'standard', regularization: { l1: 1e-4, l2: 1e-4 }, seed: 9 });
    const data = splitHoldout(spirals(50, 0.1), 0.3, 9);
    const result = await train(cfg, data);
    const ev = evaluateCheckpoint(loadCheckpoint(result.checkpoint), data.validation);
    expect(ev.loss).toBeCloseTo(result.last!.val_loss!, 6);
    expect(ev.accuracy).toBe(result.last!.val_accuracy);
  });

  it('regressor: MAE, RMSE and R² match a computation from predict()', async () => {
    const cfg = config({ layers: [dense(16, 'tanh'), dense(1)], loss: { type: 'mse' }, epochs: 5, checkpoints: { keepBest: 1, monitor: null, mode: 'auto' }, seed: 2 });
    const result = await train(cfg, { train: regression(200, 3), validation: null });
    const ckpt = loadCheckpoint(result.checkpoint);
    const test = regression(80, 8);
    const ev = evaluateCheckpoint(ckpt, test);
    const { outputs } = predict(ckpt, test.x as Float32Array, test.n);
    const mean = test.y.reduce((s, v) => s + v, 0) / test.n;
    let abs = 0;
    let sq = 0;
    let tot = 0;
    for (let i = 0; i < test.n; i++) {
      const e = outputs[i]! - test.y[i]!;
      abs += Math.abs(e);
      sq += e * e;
      tot += (test.y[i]! - mean) ** 2;
    }
    expect(ev.task).toBe('regression');
    expect(ev.mae).toBeCloseTo(abs / test.n, 6);
    expect(ev.rmse).toBeCloseTo(Math.sqrt(sq / test.n), 6);
    expect(ev.r2).toBeCloseTo(1 - sq / tot, 6);
    expect(ev.loss).toBeCloseTo(sq / test.n, 6);
    expect(ev.classes).toBeUndefined();
  });

  it('binary cross-entropy: one sigmoid output is classes 0 and 1 at 0.5; several outputs are multi-label', async () => {
    const one = await train(config({ layers: [dense(8, 'tanh'), dense(1)], loss: { type: 'binary_cross_entropy' }, epochs: 2, seed: 5 }), { train: spirals(40, 0.2), validation: null });
    const ckpt = loadCheckpoint(one.checkpoint);
    const test = spirals(30, 0.2, 7);
    const ev = evaluateCheckpoint(ckpt, test);
    const { outputs } = predict(ckpt, test.x as Float32Array, test.n);
    const cm = [[0, 0], [0, 0]];
    for (let i = 0; i < test.n; i++) cm[test.y[i]!]![outputs[i]! > 0.5 ? 1 : 0]! += 1;
    expect(ev.confusionMatrix).toEqual(cm);
    expect(ev.classes!.map((c) => c.support)).toEqual([30, 30]);
    expect(ev.accuracy).toBeCloseTo((cm[0]![0]! + cm[1]![1]!) / test.n, 12);

    // Two independent labels per row: x0 > 0 and x1 > 0.
    const n = 80;
    const x = new Float32Array(n * 2);
    const y = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      x[2 * i] = Math.sin(i * 1.3);
      x[2 * i + 1] = Math.cos(i * 0.7);
      y[2 * i] = x[2 * i]! > 0 ? 1 : 0;
      y[2 * i + 1] = x[2 * i + 1]! > 0 ? 1 : 0;
    }
    const data: Dataset = { x, y, n, features: 2, targetWidth: 2 };
    const multi = await train(config({ layers: [dense(8, 'tanh'), dense(2)], loss: { type: 'binary_cross_entropy' }, epochs: 2, seed: 5 }), { train: data, validation: null });
    const mckpt = loadCheckpoint(multi.checkpoint);
    const mev = evaluateCheckpoint(mckpt, data);
    expect(mev.confusionMatrix).toBeNull();
    const probs = predict(mckpt, x, n).outputs;
    for (let j = 0; j < 2; j++) {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (let i = 0; i < n; i++) {
        const truth = y[2 * i + j] === 1;
        const guess = probs[2 * i + j]! > 0.5;
        if (truth && guess) tp++;
        else if (guess) fp++;
        else if (truth) fn++;
      }
      expect(mev.classes![j]!.support).toBe(tp + fn);
      expect(mev.classes![j]!.precision).toBeCloseTo(tp + fp === 0 ? 0 : tp / (tp + fp), 12);
      expect(mev.classes![j]!.recall).toBeCloseTo(tp / (tp + fn), 12);
    }
  });

  it('refuses a dataset of another width or with labels outside the classes', async () => {
    const result = await train(config({ layers: [dense(4, 'tanh'), dense(2)], epochs: 1 }), { train: spirals(10), validation: null });
    const ckpt = loadCheckpoint(result.checkpoint);
    expect(() => evaluateCheckpoint(ckpt, blobs(3))).toThrow(/class label at row 2 must be an integer in \[0, 2\)/);
    expect(() => evaluateCheckpoint(ckpt, { x: new Float32Array(3), y: new Float32Array(1), n: 1, features: 3, targetWidth: 1 })).toThrow(CoreError);
  });
});
