// The job spec schema: Keras defaults, ranges, unknown fields and cross-field checks, each
// refusal naming the field's path.
import { describe, expect, it } from 'vitest';
import { BUILTIN_NAMES } from '../../src/data/index.js';
import { BUILTIN_DATASETS, JobSpecSchema } from '../../src/spec/job-spec.js';

const base = {
  dataset: { builtin: 'iris' },
  model: { layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3 }] },
  loss: 'softmax_cross_entropy',
};

function paths(body: unknown): string[] {
  const r = JobSpecSchema.safeParse(body);
  expect(r.success).toBe(false);
  return r.error!.issues.map((i) => [...i.path, ...(i.code === 'unrecognized_keys' ? i.keys : [])].join('.'));
}

describe('JobSpecSchema', () => {
  it('fills Keras defaults', () => {
    const s = JobSpecSchema.parse(base);
    expect(s.optimizer).toEqual({ type: 'rmsprop', rho: 0.9, momentum: 0, centered: false, epsilon: 1e-7 });
    expect(s.batchSize).toBe(32);
    expect(s.epochs).toBe(1);
    expect(s.shuffle).toBe(true);
    expect(s.model.layers[0]).toMatchObject({ init: 'xavier_uniform', useBias: true, biasInit: 'zeros' });
    expect(s.model.layers[1]).toMatchObject({ activation: 'linear' });
    expect(s.earlyStopping).toBeNull();
    expect(s.checkpoints).toEqual({ keepBest: 1, monitor: null, mode: 'auto' });
  });

  it('fills early stopping and optimizer defaults inside given objects', () => {
    const s = JobSpecSchema.parse({ ...base, validation: { fraction: 0.2 }, earlyStopping: {}, optimizer: { type: 'adam' } });
    expect(s.earlyStopping).toEqual({ monitor: 'val_loss', mode: 'auto', patience: 0, minDelta: 0, startFromEpoch: 0, baseline: null, restoreBest: false });
    expect(s.optimizer).toEqual({ type: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0, amsgrad: false });
  });

  it('accepts every documented learning-rate schedule', () => {
    const schedules = [
      { schedule: 'step', initial: 0.1, factor: 0.5, everyEpochs: 5 },
      { schedule: 'exponential', initial: 0.1, decaySteps: 1000, decayRate: 0.96, staircase: false },
      { schedule: 'inverse_time', initial: 0.1, decaySteps: 1000, decayRate: 0.5 },
      { schedule: 'cosine', initial: 0.1, decaySteps: 10000, alpha: 0.0, restarts: false },
      { schedule: 'polynomial', initial: 0.1, decaySteps: 10000, endLearningRate: 1e-4, power: 1, warmupSteps: 100 },
      { schedule: 'reduce_on_plateau', initial: 0.1, factor: 0.5, patience: 3, cooldown: 0, minLr: 1e-5 },
    ];
    for (const lr of schedules) {
      const r = JobSpecSchema.safeParse({ ...base, validation: { fraction: 0.1 }, learningRate: lr });
      expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    }
  });

  it('refuses an unknown field, naming it', () => {
    expect(paths({ ...base, epoch: 3 })).toEqual(['epoch']);
    expect(paths({ ...base, model: { layers: [{ type: 'dense', units: 3, activaton: 'relu' }] } })).toContain('model.layers.0.activaton');
  });

  it('refuses a wrong type, naming the field', () => {
    expect(paths({ ...base, epochs: '10' })).toEqual(['epochs']);
    expect(paths({ ...base, shuffle: 1 })).toEqual(['shuffle']);
  });

  it('refuses numbers out of range, naming the field', () => {
    expect(paths({ ...base, epochs: 0 })).toEqual(['epochs']);
    expect(paths({ ...base, learningRate: -0.1 })).toEqual(['learningRate']);
    expect(paths({ ...base, model: { layers: [{ type: 'dropout', rate: 1 }, { type: 'dense', units: 3 }] } })).toEqual(['model.layers.0.rate']);
    expect(paths({ ...base, model: { layers: [{ type: 'dense', units: 0 }] } })).toContain('model.layers.0.units');
    expect(paths({ ...base, batchSize: 1.5 })).toEqual(['batchSize']);
    expect(paths({ ...base, learningRate: { schedule: 'exponential', initial: 0.1, decaySteps: 0, decayRate: 0.9 } })).toEqual(['learningRate.decaySteps']);
  });

  it('refuses softmax cross-entropy on a one-unit output', () => {
    expect(paths({ ...base, model: { layers: [{ type: 'dense', units: 1 }] } })).toEqual(['model.layers.0.units']);
  });

  it('refuses softmax on a hidden layer and a dropout output layer', () => {
    expect(paths({ ...base, model: { layers: [{ type: 'dense', units: 4, activation: 'softmax' }, { type: 'dense', units: 3 }] } })).toEqual(['model.layers.0.activation']);
    expect(paths({ ...base, model: { layers: [{ type: 'dense', units: 3 }, { type: 'dropout', rate: 0.5 }] } })).toEqual(['model.layers.1.type']);
  });

  it('refuses a val_ monitor without validation data', () => {
    expect(paths({ ...base, earlyStopping: { monitor: 'val_loss' } })).toEqual(['earlyStopping.monitor']);
  });

  it('accepts "full" batches and a dataset id', () => {
    const s = JobSpecSchema.parse({ ...base, dataset: 'ds_01JD0000000000000000000000', batchSize: 'full' });
    expect(s.batchSize).toBe('full');
  });

  it('refuses a dataset id that is not one (path traversal included)', () => {
    expect(paths({ ...base, dataset: '../../etc/passwd' })).toEqual(['dataset']);
  });

  it('lists the same built-ins as src/data', () => {
    expect([...BUILTIN_DATASETS].sort()).toEqual([...BUILTIN_NAMES].sort());
  });
});
