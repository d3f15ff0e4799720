import { describe, expect, it } from 'vitest';
import { splitHoldout } from '../../src/core/data.js';
import { CoreError } from '../../src/core/errors.js';
import { decodeResumeState, resumeStateSummary } from '../../src/core/resume.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/core/safetensors.js';
import { train, type TrainHooks, type TrainResult } from '../../src/core/train.js';
import type { EpochMetrics, TrainConfig } from '../../src/core/types.js';
import { config, dense, dropout, spirals, timeless } from './train-helpers.js';

// Every piece of loop state is in play: dropout (RNG), adam moments, reduce-on-plateau,
// early stopping with restoreBest, the convergence counter, best-N ranking and standardization.
const cfg: TrainConfig = config({
  layers: [dense(16, 'relu'), dropout(0.2), dense(16, 'relu'), dense(2)],
  epochs: 10,
  batchSize: 16,
  learningRate: {
    schedule: 'reduce_on_plateau',
    initial: 0.02,
    factor: 0.5,
    patience: 1,
    cooldown: 0,
    minLr: 1e-4,
    minDelta: 0,
    monitor: 'val_loss',
    mode: 'auto',
    warmupSteps: 5,
  },
  earlyStopping: { monitor: 'val_loss', mode: 'auto', patience: 100, minDelta: 0, startFromEpoch: 0, baseline: null, restoreBest: true },
  convergence: { tol: 0, nIterNoChange: 100 },
  checkpoints: { keepBest: 2, monitor: 'val_accuracy', mode: 'auto' },
  regularization: { l1: 0, l2: 1e-4 },
  normalize: 'standard',
  seed: 7,
});
const data = splitHoldout(spirals(60, 0.1), 0.2, 7);

interface Run {
  result: TrainResult;
  epochs: EpochMetrics[];
  best: Map<number, Uint8Array>;
  latest: Map<number, Uint8Array>;
}

/** A resume state with the wall-clock fields of its stored metrics blanked: everything else must match exactly. */
function essence(bytes: Uint8Array | undefined): unknown {
  const { tensors, metadata } = decodeSafetensors(bytes!);
  const state = JSON.parse(metadata.state!) as Record<string, EpochMetrics | null>;
  for (const k of ['best', 'last', 'restorable']) state[k] = timeless(state[k] ?? null) as EpochMetrics | null;
  return { tensors, config: metadata.config, state };
}

/** Trains `c`, stopping once `stopWhen` says so (it sees what the hooks collected so far). */
async function run(c: TrainConfig, resume: Uint8Array | null = null, stopWhen: (out: Omit<Run, 'result'>) => boolean = () => false): Promise<Run> {
  const out: Omit<Run, 'result'> = { epochs: [], best: new Map(), latest: new Map() };
  const hooks: TrainHooks = {
    onEpoch: (m) => void out.epochs.push(m),
    onBest: (b) => void out.best.set(b.epoch, b.bytes),
    onLatest: (l) => void out.latest.set(l.epoch, l.bytes),
    shouldStop: () => stopWhen(out),
  };
  const result = await train(c, data, hooks, { resume });
  return { result, ...out };
}

describe('train: determinism', () => {
  it('gives bit-identical metrics, checkpoints and resume states for the same config, data and seed', async () => {
    const a = await run(cfg);
    const b = await run(cfg);
    expect(a.epochs).toHaveLength(10);
    expect(b.epochs.map(timeless)).toEqual(a.epochs.map(timeless));
    expect([...b.best.keys()]).toEqual([...a.best.keys()]);
    for (const [epoch, bytes] of a.best) expect(b.best.get(epoch)).toEqual(bytes);
    for (const [epoch, bytes] of a.latest) expect(essence(b.latest.get(epoch))).toEqual(essence(bytes));
    expect(b.result.checkpoint).toEqual(a.result.checkpoint);
    expect(timeless(b.result.best)).toEqual(timeless(a.result.best));
    expect(a.result.backend).toBe('js');

    const other = await run({ ...cfg, seed: 8 });
    expect(other.epochs.map(timeless)).not.toEqual(a.epochs.map(timeless));
  });
});

describe('train: resume', () => {
  it('resumeStateSummary reads the completed epochs and kept checkpoints from the header; null for bytes that are not a resume state', async () => {
    const whole = await run({ ...cfg, epochs: 3 });
    expect([...whole.latest.keys()]).toEqual([1, 2, 3]);
    for (const [epoch, bytes] of whole.latest) {
      const { state } = decodeResumeState(bytes, { ...cfg, epochs: 3 });
      expect(resumeStateSummary(bytes)).toEqual({ epoch, kept: state.kept.map((k) => k.epoch) });
    }
    // keepBest 2: by epoch 3, two kept.
    expect(resumeStateSummary(whole.latest.get(3)!)!.kept).toHaveLength(2);
    expect(resumeStateSummary(whole.result.checkpoint!)).toBeNull();
    expect(resumeStateSummary(new Uint8Array([1, 2, 3]))).toBeNull();
    expect(resumeStateSummary(encodeSafetensors([], { format: 'traind.resume', format_version: '1', state: '{"epoch":"2","kept":[]}' }))).toBeNull();
    expect(resumeStateSummary(encodeSafetensors([], { format: 'traind.resume', format_version: '1', state: '{"epoch":2}' }))).toBeNull();
  });

  it('continues from epoch 4 exactly as if never interrupted', async () => {
    const whole = await run(cfg);
    // The schedule really changed the rate along the way, so its state matters.
    expect(new Set(whole.epochs.map((m) => m.lr)).size).toBeGreaterThan(1);

    const first = await run(cfg, null, (o) => o.latest.has(4));
    expect(first.result.reason).toBe('cancelled');
    expect(first.result.epochs).toBe(4);
    // Stopping changed nothing about the state written at epoch 4.
    expect(essence(first.latest.get(4))).toEqual(essence(whole.latest.get(4)));

    const rest = await run(cfg, first.latest.get(4)!);
    expect(rest.epochs.map((m) => m.epoch)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(rest.epochs.map(timeless)).toEqual(whole.epochs.slice(4).map(timeless));
    expect(rest.result.reason).toBe(whole.result.reason);
    expect(timeless(rest.result.last)).toEqual(timeless(whole.result.last));
    expect(rest.result.step).toBe(whole.result.step);
    expect(rest.result.bestEpoch).toBe(whole.result.bestEpoch);
    expect(rest.result.restoredEpoch).toBe(whole.result.restoredEpoch);
    expect(rest.result.checkpoint).toEqual(whole.result.checkpoint);
    for (const [epoch, bytes] of rest.best) expect(bytes).toEqual(whole.best.get(epoch));
    expect([...first.best.keys(), ...rest.best.keys()]).toEqual([...whole.best.keys()]);
    expect(essence(rest.latest.get(10))).toEqual(essence(whole.latest.get(10)));
    // Metrics from before the interruption come back as reported, wall-clock fields included.
    expect(rest.result.best!.seconds).toBeGreaterThan(0);
  });

  it('a stop asked for while an epoch is recorded skips its resume state; resuming from the one before repeats that epoch exactly', async () => {
    const whole = await run(cfg);
    // shouldStop turns true inside epoch 4's onEpoch: asked again before the resume state is built.
    const first = await run(cfg, null, (o) => o.epochs.length >= 4);
    expect(first.result.reason).toBe('cancelled');
    expect(first.result.epochs).toBe(4);
    expect(first.epochs.map((m) => m.epoch)).toEqual([1, 2, 3, 4]);
    expect([...first.latest.keys()]).toEqual([1, 2, 3]);
    // The record and checkpoint of epoch 4 were written as in the uninterrupted run.
    for (const [epoch, bytes] of first.best) expect(bytes).toEqual(whole.best.get(epoch));

    const rest = await run(cfg, first.latest.get(3)!);
    expect(rest.epochs.map((m) => m.epoch)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(rest.epochs.map(timeless)).toEqual(whole.epochs.slice(3).map(timeless));
    for (const [epoch, bytes] of rest.best) expect(bytes).toEqual(whole.best.get(epoch));
    expect(rest.result.checkpoint).toEqual(whole.result.checkpoint);
    expect(essence(rest.latest.get(10))).toEqual(essence(whole.latest.get(10)));
  });

  it('a stop asked for while the last epoch is recorded does not turn a finished run into a cancelled one', async () => {
    const two = { ...cfg, epochs: 2 };
    const whole = await run(two);
    const stopped = await run(two, null, (o) => o.epochs.length >= 2);
    expect(stopped.result.reason).toBe('max_epochs');
    expect([...stopped.latest.keys()]).toEqual([1, 2]);
    expect(essence(stopped.latest.get(2))).toEqual(essence(whole.latest.get(2)));
  });

  it('a resume state from a finished run ends at once with the same result', async () => {
    const esCfg: TrainConfig = {
      ...cfg,
      epochs: 60,
      earlyStopping: { monitor: 'val_loss', mode: 'auto', patience: 2, minDelta: 0.05, startFromEpoch: 0, baseline: null, restoreBest: true },
    };
    const whole = await run(esCfg);
    expect(whole.result.reason).toBe('early_stopped');
    const again = await run(esCfg, whole.latest.get(whole.result.epochs)!);
    expect(again.epochs).toHaveLength(0);
    expect(again.result.reason).toBe('early_stopped');
    expect(again.result.epochs).toBe(whole.result.epochs);
    expect(again.result.checkpoint).toEqual(whole.result.checkpoint);
  });

  it('stores weights, optimizer moments, best weights and loop state in one safetensors file', async () => {
    const { latest } = await run({ ...cfg, epochs: 2 });
    const { tensors, metadata } = decodeSafetensors(latest.get(2)!);
    expect(metadata.format).toBe('traind.resume');
    for (const name of ['layers.0.weight', 'layers.3.bias', 'optimizer.t', 'optimizer.layers.0.weight.m', 'optimizer.layers.0.weight.v', 'best.layers.0.weight', 'normalize.mean']) {
      expect(tensors.has(name), name).toBe(true);
    }
    const state = JSON.parse(metadata.state!) as Record<string, unknown>;
    expect(state).toMatchObject({ epoch: 2, step: 12, stopped: null });
    expect(state.rng).toHaveLength(4);
  });

  it('refuses a resume state written for another config, or not a resume state at all', async () => {
    const { latest } = await run({ ...cfg, epochs: 1 });
    await expect(train({ ...cfg, seed: 99 }, data, {}, { resume: latest.get(1)! })).rejects.toThrow(CoreError);
    await expect(train(cfg, data, {}, { resume: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({ path: 'resume' });
  });
});
