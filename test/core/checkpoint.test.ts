import { describe, expect, it } from 'vitest';
import { checkpointBytes, loadCheckpoint, predict } from '../../src/core/checkpoint.js';
import { CoreError } from '../../src/core/errors.js';
import { jsKernels } from '../../src/core/kernels/js.js';
import { createModel, modelForward } from '../../src/core/model.js';
import { createRng } from '../../src/core/rng.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../src/core/safetensors.js';
import type { EpochMetrics } from '../../src/core/types.js';
import { validateConfig } from '../../src/core/validate.js';
import { config, dense, dropout } from './train-helpers.js';

describe('checkpoint', () => {
  const cfg = config({ layers: [dense(4, 'relu'), dropout(0.5), dense(3)], normalize: 'standard' });
  const model = createModel(cfg.layers, 2, cfg.loss, createRng(1), jsKernels, 8);
  const normalization = { mean: Float32Array.from([1, -2]), std: Float32Array.from([2, 0.5]) };
  const metrics: EpochMetrics = { epoch: 3, step: 30, loss: 0.5, accuracy: 0.75, lr: 0.01, seconds: 1.25, samplesPerSec: 800 };
  const bytes = checkpointBytes(model.params, cfg, { epoch: 3, step: 30, metrics, inputWidth: 2, normalization }, { spec: '{"a":1}' });

  it('writes nn.Linear-layout tensors (dropout counts as a layer), normalization and metadata', () => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(['layers.0.bias', 'layers.0.weight', 'layers.2.bias', 'layers.2.weight', 'normalize.mean', 'normalize.std']);
    expect(tensors.get('layers.0.weight')!.shape).toEqual([4, 2]);
    expect(tensors.get('layers.2.weight')!.shape).toEqual([3, 4]);
    expect(metadata).toMatchObject({ format: 'traind.checkpoint', format_version: '1', epoch: '3', step: '30', task: 'classification', spec: '{"a":1}' });
    expect(JSON.parse(metadata.config!)).toEqual(cfg);
    // Wall-clock fields stay out, so the bytes depend only on the run.
    expect(JSON.parse(metadata.metrics!)).toEqual({ epoch: 3, step: 30, loss: 0.5, accuracy: 0.75, lr: 0.01 });
  });

  it('loads back into a model that predicts like the original, applying normalization and softmax', () => {
    const ckpt = loadCheckpoint(bytes);
    expect(ckpt.epoch).toBe(3);
    expect(ckpt.outputWidth).toBe(3);
    const x = Float32Array.from([3, -1.5, 1, -2, -1, 0]);
    const { outputs, width, task } = predict(ckpt, x, 3);
    expect(width).toBe(3);
    expect(task).toBe('classification');
    const z = Float32Array.from([(3 - 1) / 2, (-1.5 + 2) / 0.5, 0, 0, -1, 4]);
    const logits = modelForward(model, z, 3, false, createRng(0));
    for (let r = 0; r < 3; r++) {
      const row = [0, 1, 2].map((j) => Math.exp(logits[r * 3 + j]!));
      const sum = row.reduce((a, b) => a + b, 0);
      for (let j = 0; j < 3; j++) expect(outputs[r * 3 + j]).toBeCloseTo(row[j]! / sum, 6);
    }
    expect(() => predict(ckpt, new Float32Array(5), 3)).toThrow(/expected 3 rows of 2 features/);
  });

  it('predicts in chunks without changing any row', () => {
    const ckpt = loadCheckpoint(bytes);
    const n = 600;
    const x = Float32Array.from({ length: n * 2 }, (_, i) => Math.sin(i));
    const all = predict(ckpt, x, n).outputs;
    const one = predict(ckpt, x.subarray(2 * 599), 1).outputs;
    expect(all.subarray(3 * 599)).toEqual(one);
  });

  it('refuses files that are not traind checkpoints or do not match their config', () => {
    expect(() => loadCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(SafetensorsError);
    const { tensors, metadata } = decodeSafetensors(bytes);
    const named = [...tensors].map(([name, t]) => ({ name, ...t }));
    expect(() => loadCheckpoint(encodeSafetensors(named, { ...metadata, format: 'other' }))).toThrow(/not a traind checkpoint/);
    expect(() => loadCheckpoint(encodeSafetensors(named.filter((t) => t.name !== 'layers.2.bias'), metadata))).toThrow(/lacks tensor layers.2.bias/);
    const wrong = named.map((t) => (t.name === 'layers.0.weight' ? { ...t, shape: [2, 4] } : t));
    expect(() => loadCheckpoint(encodeSafetensors(wrong, metadata))).toThrow(CoreError);
  });
});

describe('validateConfig', () => {
  const cases: [string, Parameters<typeof validateConfig>, string][] = [
    ['output width ≠ target width', [config({ loss: { type: 'mse' } }), 2, 1], 'layers.1.units'],
    ['a soft target of the wrong width', [config(), 2, 3], 'layers.1.units'],
    ['zero units', [config({ layers: [dense(0), dense(2)] }), 2, 1], 'layers.0.units'],
    ['softmax CE on one unit', [config({ layers: [dense(1)] }), 2, 1], 'loss'],
    ['batch larger than the data with dropLast', [config({ batchSize: 10, dropLast: true }), 2, 1, { rows: 4 }], 'batchSize'],
    ['val_ monitor without validation', [config({ checkpoints: { keepBest: 1, monitor: 'val_loss', mode: 'auto' } }), 2, 1, { hasValidation: false }], 'checkpoints.monitor'],
    ['a regression metric on a classifier', [config({ checkpoints: { keepBest: 1, monitor: 'r2', mode: 'auto' } }), 2, 1], 'checkpoints.monitor'],
    ['zero epochs', [config({ epochs: 0 }), 2, 1], 'epochs'],
    ['bad decaySteps', [config({ learningRate: { schedule: 'exponential', initial: 0.1, decaySteps: 0, decayRate: 0.9, staircase: false, warmupSteps: 0 } }), 2, 1], 'learningRate.decaySteps'],
    ['bad nIterNoChange', [config({ convergence: { tol: 1e-4, nIterNoChange: 0 } }), 2, 1], 'convergence.nIterNoChange'],
    ['negative maxRuntimeSeconds', [config({ maxRuntimeSeconds: -1 }), 2, 1], 'stopping.maxRuntimeSeconds'],
  ];
  it.each(cases)('refuses %s with the field path', (_name, args, path) => {
    let error: unknown;
    try {
      validateConfig(...args);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CoreError);
    expect((error as CoreError).path).toBe(path);
  });

  it('accepts a good config', () => {
    expect(() => validateConfig(config(), 2, 1, { rows: 4, hasValidation: false })).not.toThrow();
    expect(() => validateConfig(config(), 2, 2, { rows: 4, hasValidation: true })).not.toThrow();
  });
});
