// From spec to the core's TrainConfig, and the checks that need the dataset and the limits.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/core/index.js';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { checkSpecAgainstDataset, checkSpecLimits, parameterCount, resolveSpec, toTrainConfig, trainingRows, type DatasetInfo } from '../../src/spec/to-train-config.js';

const iris: DatasetInfo = { rows: 150, features: 4, classes: 3, task: 'classification', targetWidth: 1 };
const sine: DatasetInfo = { rows: 200, features: 1, classes: null, task: 'regression', targetWidth: 1 };

const spec = (extra: Record<string, unknown> = {}) =>
  JobSpecSchema.parse({
    dataset: { builtin: 'iris' },
    model: { layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3 }] },
    loss: 'softmax_cross_entropy',
    ...extra,
  });

describe('toTrainConfig', () => {
  it('resolves the seed, the optimizer default learning rate and priority, then maps to a valid TrainConfig', () => {
    const r = resolveSpec(spec({ optimizer: { type: 'sgd' } }));
    expect(r.learningRate).toBe(0.01);
    expect(r.priority).toBe(50);
    expect(Number.isInteger(r.seed)).toBe(true);
    const c = toTrainConfig(r);
    expect(c.learningRate).toEqual({ schedule: 'constant', initial: 0.01, warmupSteps: 0 });
    expect(c.loss).toEqual({ type: 'softmax_cross_entropy' });
    expect(c.checkpoints.monitor).toBe('loss');
    expect(c.seed).toBe(r.seed);
    expect(() => validateConfig(c, 4, 1, { rows: 150, hasValidation: false })).not.toThrow();
  });

  it('maps huber with its delta and ranks checkpoints by val_loss when validating', () => {
    const c = toTrainConfig(resolveSpec(spec({ loss: { type: 'huber', delta: 2 }, model: { layers: [{ type: 'dense', units: 1 }] }, validation: { fraction: 0.2 } })));
    expect(c.loss).toEqual({ type: 'huber', delta: 2 });
    expect(c.checkpoints.monitor).toBe('val_loss');
  });
});

describe('checkSpecAgainstDataset', () => {
  it('passes a spec that fits', () => {
    expect(checkSpecAgainstDataset(spec(), iris)).toEqual([]);
  });

  it('names the output units when they do not match the classes', () => {
    const issues = checkSpecAgainstDataset(spec({ model: { layers: [{ type: 'dense', units: 5 }] } }), iris);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['model.layers.0.units']);
    expect(issues[0]!.message).toMatch(/3 classes/);
  });

  it('names batchSize when dropLast would drop every batch', () => {
    const issues = checkSpecAgainstDataset(spec({ batchSize: 200, dropLast: true }), iris);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['batchSize']);
  });

  it('counts training rows after the hold-out like the core (ceil)', () => {
    expect(trainingRows(spec({ validation: { fraction: 0.1 } }), 15)).toBe(13);
    const issues = checkSpecAgainstDataset(spec({ batchSize: 140, dropLast: true, validation: { fraction: 0.1 } }), iris);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['batchSize']);
  });

  it('refuses softmax cross-entropy on a regression dataset and accuracy on a regression loss', () => {
    expect(checkSpecAgainstDataset(spec({ dataset: { builtin: 'sine' }, model: { layers: [{ type: 'dense', units: 2 }] } }), sine).map((i) => i.path.join('.'))).toEqual(['loss']);
    const reg = spec({ loss: 'mse', model: { layers: [{ type: 'dense', units: 1 }] }, earlyStopping: { monitor: 'accuracy' } });
    expect(checkSpecAgainstDataset(reg, sine).map((i) => i.path.join('.'))).toEqual(['earlyStopping.monitor']);
  });
});

describe('checkSpecLimits', () => {
  it('counts parameters and refuses models, work and checkpoint counts over the limits', () => {
    const s = spec({ epochs: 100, checkpoints: { keepBest: 5 } });
    expect(parameterCount(s, 4)).toBe(4 * 16 + 16 + 16 * 3 + 3);
    const issues = checkSpecLimits(s, iris, { modelParams: 100, epochRows: 1000, checkpoints: 3 });
    expect(issues.map((i) => i.path.join('.'))).toEqual(['model.layers', 'epochs', 'checkpoints.keepBest']);
    expect(checkSpecLimits(s, iris, { modelParams: 1e6, epochRows: 1e6, checkpoints: 10 })).toEqual([]);
  });
});
