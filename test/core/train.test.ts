import { describe, expect, it } from 'vitest';
import { loadCheckpoint, predict } from '../../src/core/checkpoint.js';
import { splitHoldout } from '../../src/core/data.js';
import { CoreError } from '../../src/core/errors.js';
import { scorePredictions } from '../../src/core/metrics.js';
import { decodeSafetensors } from '../../src/core/safetensors.js';
import { train, type BestCheckpointEvent } from '../../src/core/train.js';
import type { Dataset, EpochMetrics } from '../../src/core/types.js';
import { forEachBackend } from './backends.js';
import { config, constantLr, dense, dropout, regression, spirals, xor } from './train-helpers.js';

async function collect(cfg: ReturnType<typeof config>, data: { train: Dataset; validation: Dataset | null }) {
  const epochs: EpochMetrics[] = [];
  const best: BestCheckpointEvent[] = [];
  const result = await train(cfg, data, { onEpoch: (m) => void epochs.push(m), onBest: (b) => void best.push(b) });
  return { result, epochs, best };
}

function mse(pred: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (pred[i]! - y[i]!) ** 2;
  return s / y.length;
}

describe('train: learning', () => {
  it('learns XOR to 100% training accuracy', async () => {
    const { result } = await collect(
      config({ layers: [dense(8, 'tanh'), dense(2)], epochs: 300, batchSize: 4, learningRate: constantLr(0.05) }),
      { train: xor(), validation: null },
    );
    expect(result.reason).toBe('max_epochs');
    expect(result.last!.accuracy).toBe(1);
    // The final checkpoint alone classifies all four points.
    const { outputs } = predict(loadCheckpoint(result.checkpoint), xor().x, 4);
    expect(scorePredictions({ type: 'softmax_cross_entropy' }, outputs, xor().y, 4, 2, 1).accuracy).toBe(1);
  });

  it('learns two spirals to at least 98% training accuracy', async () => {
    const data = spirals(100);
    const { result } = await collect(
      config({ layers: [dense(32, 'relu'), dense(32, 'relu'), dense(2)], epochs: 200, batchSize: 16, learningRate: constantLr(0.01) }),
      { train: data, validation: null },
    );
    const { outputs } = predict(loadCheckpoint(result.checkpoint), data.x, data.n);
    expect(scorePredictions({ type: 'softmax_cross_entropy' }, outputs, data.y, data.n, 2, 1).accuracy).toBeGreaterThanOrEqual(0.98);
    expect(result.last!.accuracy).toBeGreaterThanOrEqual(0.98);
  });

  it('fits a nonlinear regression target to R² ≥ 0.99, with standardization stored in the checkpoint', async () => {
    const data = regression(400);
    // Shift and scale the inputs so standardization has work to do.
    const x = data.x.map((v, i) => (i % 2 === 0 ? 100 + 50 * v : v / 100));
    const { result } = await collect(
      config({
        layers: [dense(32, 'tanh'), dense(32, 'tanh'), dense(1)],
        loss: { type: 'mse' },
        epochs: 150,
        batchSize: 32,
        normalize: 'standard',
      }),
      { train: { ...data, x }, validation: null },
    );
    expect(result.last!.r2).toBeGreaterThanOrEqual(0.99);
    const ckpt = loadCheckpoint(result.checkpoint);
    expect(Math.abs(ckpt.normalization!.mean[0]! - 100)).toBeLessThan(10);
    expect(ckpt.normalization!.std[0]).toBeGreaterThan(40);
    expect(ckpt.normalization!.std[1]).toBeLessThan(0.03);
    const { outputs } = predict(ckpt, x, data.n);
    expect(scorePredictions({ type: 'mse' }, outputs, data.y, data.n, 1, 1).r2).toBeGreaterThanOrEqual(0.99);
  });

  it('trains softmax cross-entropy on soft target distributions', async () => {
    // Each point's target is a distribution leaning 0.9 towards its XOR class.
    const base = xor();
    const y = new Float32Array(8);
    for (let i = 0; i < 4; i++) {
      y[2 * i + base.y[i]!] = 0.9;
      y[2 * i + 1 - base.y[i]!] = 0.1;
    }
    const { epochs } = await collect(
      config({ layers: [dense(8, 'tanh'), dense(2)], epochs: 400, batchSize: 4, learningRate: constantLr(0.05) }),
      { train: { ...base, y, targetWidth: 2 }, validation: null },
    );
    const last = epochs.at(-1)!;
    expect(last.accuracy).toBe(1);
    // The minimum of the cross-entropy is the targets' entropy, H(0.9, 0.1) = 0.3251.
    const entropy = -(0.9 * Math.log(0.9) + 0.1 * Math.log(0.1));
    expect(last.loss).toBeGreaterThanOrEqual(entropy - 1e-6);
    expect(last.loss).toBeLessThan(entropy + 0.01);
  });

  it('trains binary cross-entropy on one sigmoid output, and multi-label with one output per label', async () => {
    const { result } = await collect(
      config({ layers: [dense(8, 'tanh'), dense(1, 'sigmoid')], loss: { type: 'binary_cross_entropy' }, epochs: 300, batchSize: 4, learningRate: constantLr(0.05), clipNorm: 1 }),
      { train: xor(), validation: null },
    );
    expect(result.last!.accuracy).toBe(1);
    const probs = predict(loadCheckpoint(result.checkpoint), xor().x, 4).outputs;
    expect([...probs].map((p) => (p > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);

    // Labels: [XOR, AND] of the two inputs.
    const y = Float32Array.from([0, 0, 1, 0, 1, 0, 0, 1]);
    const multi = await collect(
      config({ layers: [dense(8, 'tanh'), dense(2)], loss: { type: 'binary_cross_entropy' }, epochs: 300, batchSize: 'full', learningRate: constantLr(0.05) }),
      { train: { ...xor(), y, targetWidth: 2 }, validation: null },
    );
    expect(multi.result.last!.accuracy).toBe(1);
  });

  it('runs stochastic, mini-batch and full-batch gradient descent with the right step counts', async () => {
    const data = spirals(5); // 10 rows
    const steps = async (batchSize: number | 'full', dropLast = false) => {
      const { epochs } = await collect(config({ batchSize, dropLast, epochs: 3, layers: [dense(4, 'relu'), dense(2)] }), { train: data, validation: null });
      expect(epochs.map((m) => m.epoch)).toEqual([1, 2, 3]);
      expect(epochs.every((m) => Number.isFinite(m.loss))).toBe(true);
      return epochs.map((m) => m.step);
    };
    expect(await steps(1)).toEqual([10, 20, 30]);
    expect(await steps(3)).toEqual([4, 8, 12]);
    expect(await steps(3, true)).toEqual([3, 6, 9]);
    expect(await steps('full')).toEqual([1, 2, 3]);
    expect(await steps(64)).toEqual([1, 2, 3]);
  });

  it('keeps the row order with shuffle off, and shuffling changes the result', async () => {
    const data = spirals(20);
    const run = async (shuffle: boolean, seedForShuffle: number) => {
      const { result } = await collect(config({ shuffle, epochs: 2, batchSize: 8, seed: seedForShuffle }), { train: data, validation: null });
      return result.last!.loss;
    };
    expect(await run(true, 1)).not.toBe(await run(false, 1));
    expect(await run(false, 1)).toBe(await run(false, 1));
  });
});

describe('train: stopping', () => {
  const overfit = () => {
    // 60 noisy points, a wide net and no regularization: validation loss bottoms out, then rises.
    const all = regression(60, 11, 2.5);
    return splitHoldout(all, 0.5, 5);
  };

  it('early stopping fires on an overfitting run and restoreBest restores the best epoch', async () => {
    const data = overfit();
    const { result, epochs } = await collect(
      config({
        layers: [dense(128, 'relu'), dense(128, 'relu'), dense(1)],
        loss: { type: 'mse' },
        epochs: 400,
        batchSize: 8,
        earlyStopping: { monitor: 'val_loss', mode: 'auto', patience: 15, minDelta: 0, startFromEpoch: 0, baseline: null, restoreBest: true },
      }),
      data,
    );
    expect(result.reason).toBe('early_stopped');
    expect(result.epochs).toBeLessThan(400);
    const bestEpoch = epochs.reduce((b, m) => (m.val_loss! < b.val_loss! ? m : b));
    expect(result.epochs).toBe(bestEpoch.epoch + 15);
    expect(result.restoredEpoch).toBe(bestEpoch.epoch);
    const last = epochs.at(-1)!;
    expect(last.val_loss!).toBeGreaterThan(bestEpoch.val_loss! * 1.05);

    // The final weights score the best epoch's val_loss, not the last epoch's.
    const ckpt = loadCheckpoint(result.checkpoint);
    expect(ckpt.epoch).toBe(bestEpoch.epoch);
    const { outputs } = predict(ckpt, data.validation.x, data.validation.n);
    expect(mse(outputs, data.validation.y)).toBeCloseTo(bestEpoch.val_loss!, 9);
    // With val_loss as the (default) checkpoint monitor, the top kept checkpoint is the same epoch.
    expect(result.bestEpoch).toBe(bestEpoch.epoch);
  });

  it('restoreBest also restores the best weights when training is cancelled', async () => {
    const data = overfit();
    const epochs: EpochMetrics[] = [];
    const result = await train(
      config({
        layers: [dense(128, 'relu'), dense(128, 'relu'), dense(1)],
        loss: { type: 'mse' },
        epochs: 400,
        batchSize: 8,
        earlyStopping: { monitor: 'val_loss', mode: 'auto', patience: 1000, minDelta: 0, startFromEpoch: 0, baseline: null, restoreBest: true },
      }),
      data,
      { onEpoch: (m) => void epochs.push(m), shouldStop: () => epochs.length >= 60 },
    );
    expect(result.reason).toBe('cancelled');
    const bestEpoch = epochs.reduce((b, m) => (m.val_loss! < b.val_loss! ? m : b));
    expect(bestEpoch.epoch).toBeLessThan(60);
    expect(result.restoredEpoch).toBe(bestEpoch.epoch);
    const ckpt = loadCheckpoint(result.checkpoint);
    expect(ckpt.epoch).toBe(bestEpoch.epoch);
    expect(mse(predict(ckpt, data.validation.x, data.validation.n).outputs, data.validation.y)).toBeCloseTo(bestEpoch.val_loss!, 9);
  });

  it('stops with reason diverged on a NaN/Inf loss and keeps the last good weights', async () => {
    const data = regression(64);
    const { result, epochs } = await collect(
      config({
        layers: [dense(16, 'relu'), dense(1)],
        loss: { type: 'mse' },
        optimizer: { type: 'sgd', momentum: 0.9, nesterov: false },
        learningRate: constantLr(5),
        epochs: 50,
        batchSize: 8,
      }),
      { train: data, validation: null },
    );
    expect(result.reason).toBe('diverged');
    expect(result.epochs).toBeLessThan(50);
    expect(result.epochs).toBe(epochs.length);
    const weights = decodeSafetensors(result.checkpoint).tensors;
    for (const t of weights.values()) expect(t.data.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('cancels between mini-batches when shouldStop says so', async () => {
    const data = spirals(50);
    let polls = 0;
    const epochs: EpochMetrics[] = [];
    const result = await train(config({ epochs: 100, batchSize: 10 }), { train: data, validation: null }, {
      onEpoch: (m) => void epochs.push(m),
      shouldStop: () => ++polls > 29,
    });
    expect(result.reason).toBe('cancelled');
    // 10 batches per epoch, 12 polls (one per batch, two as it ends): the 30th poll comes before epoch 3's sixth batch.
    expect(result.epochs).toBe(2);
    expect(epochs).toHaveLength(2);
    expect(result.step).toBe(20);
    expect(loadCheckpoint(result.checkpoint).epoch).toBe(2);
  });

  it('a stop asked for after an epoch\'s last mini-batch and validation drops that epoch, as a half epoch', async () => {
    const data = spirals(50);
    const cfg = config({ epochs: 100, batchSize: 10 });
    const oneEpoch = await train({ ...cfg, epochs: 1 }, { train: data, validation: null });
    let polls = 0;
    const epochs: EpochMetrics[] = [];
    const latest: number[] = [];
    // 12 polls an epoch: the 23rd is epoch 2's after its 10 batches and validation.
    const result = await train(cfg, { train: data, validation: data }, {
      onEpoch: (m) => void epochs.push(m),
      onLatest: (l) => void latest.push(l.epoch),
      shouldStop: () => ++polls > 22,
    });
    expect(polls).toBe(23);
    expect(result.reason).toBe('cancelled');
    expect([result.epochs, result.step]).toEqual([1, 10]);
    expect(epochs.map((m) => m.epoch)).toEqual([1]);
    expect(latest).toEqual([1]);
    const want = decodeSafetensors(oneEpoch.checkpoint).tensors;
    for (const [name, t] of decodeSafetensors(result.checkpoint).tensors) expect(Array.from(t.data), name).toEqual(Array.from(want.get(name)!.data));
  });

  it('a cancel inside the first epoch gives back the initial weights at step 0 and epoch 0, restoreBest or not', async () => {
    const data = spirals(50);
    const earlyStopping = { monitor: 'loss', mode: 'auto', patience: 5, minDelta: 0, startFromEpoch: 0, baseline: null, restoreBest: true } as const;
    for (const es of [earlyStopping, null]) {
      const cfg = config({ epochs: 100, batchSize: 10, earlyStopping: es });
      const initial = await train(cfg, { train: data, validation: null }, { shouldStop: () => true });
      let polls = 0;
      // 10 batches per epoch: the 7th poll comes after six updates of epoch 1.
      const result = await train(cfg, { train: data, validation: null }, { shouldStop: () => ++polls > 6 });
      expect(result.reason).toBe('cancelled');
      expect(result.epochs).toBe(0);
      expect(result.step).toBe(0);
      const ckpt = loadCheckpoint(result.checkpoint);
      expect([ckpt.epoch, ckpt.step]).toEqual([0, 0]);
      expect(Buffer.from(result.checkpoint).equals(Buffer.from(initial.checkpoint))).toBe(true);
    }
  });

  it('a cancel inside a later epoch gives back the last finished epoch: its step and its weights', async () => {
    const data = spirals(50);
    const cfg = config({ epochs: 100, batchSize: 10 });
    const twoEpochs = await train({ ...cfg, epochs: 2 }, { train: data, validation: null });
    let polls = 0;
    const result = await train(cfg, { train: data, validation: null }, { shouldStop: () => ++polls > 26 });
    expect([result.epochs, result.step]).toEqual([2, 20]);
    const ckpt = loadCheckpoint(result.checkpoint);
    expect([ckpt.epoch, ckpt.step]).toEqual([2, 20]);
    const want = decodeSafetensors(twoEpochs.checkpoint).tensors;
    for (const [name, t] of decodeSafetensors(result.checkpoint).tensors) expect(Array.from(t.data), name).toEqual(Array.from(want.get(name)!.data));
  });

  it('makes no view per training row, on every backend (one per row cost 106 MB and 1.35 s for 1M rows)', async () => {
    const N = 100_000;
    const data: Dataset = { x: new Float32Array(N * 2).map((_, i) => (i % 7) / 7), y: new Float32Array(N).map((_, i) => i % 2), n: N, features: 2, targetWidth: 1 };
    const cfg = config({ layers: [dense(2)], epochs: 1, batchSize: 1000 });
    const original = Float32Array.prototype.subarray;
    for (const kernels of forEachBackend()) {
      let views = 0;
      Float32Array.prototype.subarray = function (this: Float32Array, ...args: [number?, number?]) {
        views++;
        return original.apply(this, args);
      } as typeof original;
      try {
        await train(cfg, { train: data, validation: null }, {}, { kernels });
      } finally {
        Float32Array.prototype.subarray = original;
      }
      // 100 mini-batches: a few views per batch at most, never one per row.
      expect(views, kernels.name).toBeLessThan(N / 100);
    }
  });

  it('accepts an async shouldStop', async () => {
    const result = await train(config({ epochs: 100 }), { train: xor(), validation: null }, { shouldStop: async () => true });
    expect(result.reason).toBe('cancelled');
    expect(result.epochs).toBe(0);
    expect(result.last).toBeNull();
  });

  it('stops at maxRuntimeSeconds', async () => {
    const started = Date.now();
    const result = await train(config({ epochs: 100000, batchSize: 1, maxRuntimeSeconds: 0.2 }), { train: spirals(50), validation: null });
    expect(result.reason).toBe('max_runtime');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops when the training loss converges (tol, nIterNoChange)', async () => {
    const { result, epochs } = await collect(
      config({ epochs: 500, batchSize: 4, learningRate: constantLr(0.05), convergence: { tol: 1e-3, nIterNoChange: 5 } }),
      { train: xor(), validation: null },
    );
    expect(result.reason).toBe('converged');
    expect(result.epochs).toBeLessThan(500);
    // sklearn's rule, replayed: stop once more than nIterNoChange epochs in a row failed to beat the best by tol.
    let best = Infinity;
    let wait = 0;
    let stopAt = 0;
    for (const m of epochs) {
      wait = m.loss > best - 1e-3 ? wait + 1 : 0;
      best = Math.min(best, m.loss);
      if (wait > 5) {
        stopAt = m.epoch;
        break;
      }
    }
    expect(result.epochs).toBe(stopAt);
  });

  it('lets the caller I/O run while training (yields to the event loop)', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const result = await train(config({ epochs: 1e6, batchSize: 1, maxRuntimeSeconds: 0.3 }), { train: spirals(50), validation: null });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(result.reason).toBe('max_runtime');
    // A timer can fire at most once per yield, so at least one tick per ~100 ms of training shows yields happen.
    expect(ticks).toBeGreaterThan(elapsed / 100);
  });
});

describe('train: checkpoints and metrics', () => {
  it('reports classification metrics and keeps the best N checkpoints ranked by the monitor', async () => {
    const data = splitHoldout(spirals(60, 0.05), 0.25, 3);
    const { result, epochs, best } = await collect(
      config({
        layers: [dense(16, 'relu'), dropout(0.1), dense(2)],
        epochs: 15,
        checkpoints: { keepBest: 2, monitor: 'val_accuracy', mode: 'auto' },
      }),
      data,
    );
    for (const m of epochs) {
      expect(Object.keys(m)).toEqual(['epoch', 'step', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', 'seconds', 'samplesPerSec']);
    }
    const last = best.at(-1)!;
    expect(last.kept.length).toBeLessThanOrEqual(2);
    expect(last.kept[0]!.value).toBeGreaterThanOrEqual(last.kept[1]!.value);
    const top = Math.max(...epochs.map((m) => m.val_accuracy!));
    expect(last.kept[0]!.value).toBe(top);
    // Ties keep the earlier epoch: the top kept epoch is the first to reach the top value.
    expect(last.kept[0]!.epoch).toBe(epochs.find((m) => m.val_accuracy === top)!.epoch);
    expect(result.bestEpoch).toBe(last.kept[0]!.epoch);
    // Every evicted epoch entered earlier, and what is kept = entered − evicted.
    const entered = best.map((b) => b.epoch);
    const evicted = best.flatMap((b) => b.evicted);
    expect(new Set(last.kept.map((k) => k.epoch))).toEqual(new Set(entered.filter((e) => !evicted.includes(e))));

    // The best checkpoint reproduces its validation accuracy exactly from its own bytes.
    const bestEvent = best.find((b) => b.epoch === result.bestEpoch)!;
    const ckpt = loadCheckpoint(bestEvent.bytes);
    expect(ckpt.metrics!.val_accuracy).toBe(top);
    expect(ckpt.metrics).not.toHaveProperty('seconds');
    const { outputs } = predict(ckpt, data.validation.x, data.validation.n);
    expect(scorePredictions({ type: 'softmax_cross_entropy' }, outputs, data.validation.y, data.validation.n, 2, 1).accuracy).toBe(top);
  });

  it('reports regression metrics with their val_ twins', async () => {
    const data = splitHoldout(regression(100), 0.2, 1);
    const { epochs } = await collect(config({ layers: [dense(8, 'tanh'), dense(1)], loss: { type: 'huber', delta: 1 }, epochs: 2 }), data);
    expect(Object.keys(epochs[0]!)).toEqual(['epoch', 'step', 'loss', 'mae', 'rmse', 'r2', 'val_loss', 'val_mae', 'val_rmse', 'val_r2', 'lr', 'seconds', 'samplesPerSec']);
  });

  it('passes caller metadata into every checkpoint without letting it override the core keys', async () => {
    const { result, best } = await collect(config({ epochs: 2 }), { train: xor(), validation: null });
    const meta = decodeSafetensors(best[0]!.bytes).metadata;
    expect(meta.format).toBe('traind.checkpoint');
    void result;
    const again = await train(config({ epochs: 1 }), { train: xor(), validation: null }, {}, { metadata: { spec: '{"name":"x"}', epoch: 'bogus' } });
    const meta2 = decodeSafetensors(again.checkpoint).metadata;
    expect(meta2.spec).toBe('{"name":"x"}');
    expect(meta2.epoch).toBe('1');
  });

  it('refuses a config that cannot run, naming the field', async () => {
    await expect(train(config({ earlyStopping: { monitor: 'val_loss', mode: 'auto', patience: 1, minDelta: 0, startFromEpoch: 0, baseline: null, restoreBest: false } }), { train: xor(), validation: null })).rejects.toMatchObject({
      path: 'earlyStopping.monitor',
    });
    await expect(train(config({ batchSize: 10, dropLast: true }), { train: xor(), validation: null })).rejects.toThrow(CoreError);
    const bad = { ...xor(), y: Float32Array.from([0, 1, 2, 0]) };
    await expect(train(config(), { train: bad, validation: null })).rejects.toMatchObject({ path: 'dataset' });
  });
});
