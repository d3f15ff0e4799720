// Fine-tuning in the core: training that starts from a checkpoint's tensors (options.initial)
// continues where the parent left off, is deterministic, resumes bit-identically, and refuses
// tensors of the wrong shape.
import { describe, expect, it } from 'vitest';
import { splitHoldout } from '../../src/core/data.js';
import { CoreError } from '../../src/core/errors.js';
import { decodeSafetensors } from '../../src/core/safetensors.js';
import { train, type TrainHooks } from '../../src/core/train.js';
import type { EpochMetrics, TrainConfig } from '../../src/core/types.js';
import { config, dense, dropout, spirals, timeless } from './train-helpers.js';

const parentConfig: TrainConfig = config({
  layers: [dense(32, 'relu'), dropout(0.1), dense(32, 'relu'), dense(2)],
  epochs: 150,
  batchSize: 16,
  learningRate: { schedule: 'constant', initial: 0.01, warmupSteps: 0 },
  normalize: 'standard',
  seed: 3,
});
// The child: other data split, optimizer, schedule and seed; the same layer shapes.
const childConfig: TrainConfig = config({
  layers: [dense(32, 'relu'), dropout(0.3), dense(32, 'relu'), dense(2)],
  optimizer: { type: 'sgd', momentum: 0.9, nesterov: false },
  learningRate: { schedule: 'cosine', initial: 0.01, decaySteps: 200, alpha: 0, restarts: false, tMul: 2, mMul: 1, warmupSteps: 0 },
  epochs: 4,
  batchSize: 8,
  normalize: 'standard',
  seed: 11,
});
const parentData = splitHoldout(spirals(80, 0.1, 1), 0.2, 3);
const childData = splitHoldout(spirals(80, 0.1, 2), 0.2, 5);

async function run(c: TrainConfig, initial: Map<string, { shape: number[]; data: Float32Array }> | null, resume: Uint8Array | null = null, stopAfter: number | null = null) {
  const epochs: EpochMetrics[] = [];
  const latest = new Map<number, Uint8Array>();
  const hooks: TrainHooks = {
    onEpoch: (m) => void epochs.push(m),
    onLatest: (l) => void latest.set(l.epoch, l.bytes),
    shouldStop: () => stopAfter !== null && latest.has(stopAfter),
  };
  const result = await train(c, childData, hooks, { initial, resume });
  return { result, epochs, latest };
}

describe('training from initial tensors (fine-tuning)', async () => {
  const parent = await train(parentConfig, parentData);
  const parentTensors = decodeSafetensors(parent.checkpoint).tensors;

  it('starts from the parent: the first epoch scores near its final loss, far below a fresh init', async () => {
    const fresh = await run(childConfig, null);
    const tuned = await run(childConfig, parentTensors);
    const parentLoss = parent.last!.val_loss!;
    expect(parentLoss).toBeLessThan(0.3);
    // The first epoch's validation loss: the parent's weights after a few small SGD steps.
    expect(tuned.epochs[0]!.val_loss!).toBeLessThan(parentLoss * 1.5 + 0.05);
    expect(fresh.epochs[0]!.val_loss!).toBeGreaterThan(0.5);
    expect(tuned.epochs[0]!.val_loss!).toBeLessThan(fresh.epochs[0]!.val_loss! / 2);
  });

  it("keeps the parent's normalization rather than recomputing it on the new data", async () => {
    const tuned = await run(childConfig, parentTensors);
    const child = decodeSafetensors(tuned.result.checkpoint).tensors;
    expect(child.get('normalize.mean')!.data).toEqual(parentTensors.get('normalize.mean')!.data);
    expect(child.get('normalize.std')!.data).toEqual(parentTensors.get('normalize.std')!.data);
  });

  it('is deterministic, and a resumed fine-tune is bit-identical to one that never stopped', async () => {
    const a = await run(childConfig, parentTensors);
    const b = await run(childConfig, parentTensors);
    expect(Buffer.from(a.result.checkpoint).equals(Buffer.from(b.result.checkpoint))).toBe(true);
    const stopped = await run(childConfig, parentTensors, null, 2);
    expect(stopped.result.epochs).toBe(2);
    // The resume state carries the weights: the initial tensors are not needed (nor used) again.
    const resumed = await run(childConfig, null, stopped.latest.get(2)!);
    expect(Buffer.from(resumed.result.checkpoint).equals(Buffer.from(a.result.checkpoint))).toBe(true);
    expect(resumed.epochs.map(timeless)).toEqual(a.epochs.slice(2).map(timeless));
  });

  it('refuses tensors of another shape, naming the tensor', async () => {
    const wider = config({ ...childConfig, layers: [dense(64, 'relu'), dropout(0.3), dense(32, 'relu'), dense(2)] });
    await expect(run(wider, parentTensors)).rejects.toThrow(CoreError);
    await expect(run(wider, parentTensors)).rejects.toThrow(/layers\.0\.weight has shape \[32, 2\], the model needs \[64, 2\]/);
    const noNormalize = new Map([...parentTensors].filter(([name]) => !name.startsWith('normalize.')));
    await expect(run(childConfig, noNormalize)).rejects.toThrow(/normalize\.mean/);
  });
});
