// The job spec: one zod schema gives the TypeScript type, the API's validation and the OpenAPI
// component. Defaults follow Keras where Keras has one; every number has a range; unknown fields
// are refused. Checks that need the dataset live in to-train-config.ts.
import { z } from 'zod';

// Must match src/data's BUILTIN_NAMES (a test checks): the spec may import only zod.
export const BUILTIN_DATASETS = ['xor', 'spirals', 'moons', 'circles', 'iris', 'sine', 'linear'] as const;

export const DATASET_ID = /^ds_[0-9A-HJKMNP-TV-Z]{26}$/;
export const JOB_ID = /^job_[0-9A-HJKMNP-TV-Z]{26}$/;

const ACTIVATIONS = ['linear', 'relu', 'leaky_relu', 'elu', 'sigmoid', 'tanh', 'gelu', 'softmax'] as const;
const INIT_NAMES = ['xavier_uniform', 'xavier_normal', 'he_uniform', 'he_normal', 'lecun_normal', 'zeros'] as const;

/** Metric names a monitor may name (architecture: a metrics record's keys). */
export const METRIC_NAMES = [
  'loss', 'accuracy', 'mae', 'rmse', 'r2',
  'val_loss', 'val_accuracy', 'val_mae', 'val_rmse', 'val_r2',
] as const;

const pos = (max: number) => z.number().positive().max(max);
const nonneg = (max: number) => z.number().min(0).max(max);
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const unit = z.number().min(0).max(1);
const mode = z.enum(['min', 'max', 'auto']);

const Init = z.union([
  z.enum(INIT_NAMES),
  z.strictObject({ type: z.literal('normal'), std: pos(100), mean: z.number().min(-100).max(100).optional() }),
  z.strictObject({ type: z.literal('uniform'), limit: pos(100) }),
  z.strictObject({ type: z.literal('constant'), value: z.number().min(-1e6).max(1e6) }),
]);

const DenseLayer = z.strictObject({
  type: z.literal('dense'),
  units: int(1, 65536),
  activation: z.enum(ACTIVATIONS).default('linear'),
  init: Init.default('xavier_uniform'),
  useBias: z.boolean().default(true),
  biasInit: Init.default('zeros'),
  /** leaky_relu's negative slope (default 0.01) / elu's alpha (default 1). */
  alpha: z.number().min(0).max(100).optional(),
});

const DropoutLayer = z.strictObject({
  type: z.literal('dropout'),
  rate: z.number().min(0).lt(1),
});

export const LayerSpec = z.discriminatedUnion('type', [DenseLayer, DropoutLayer]).meta({ discriminator: { propertyName: 'type' } });

const LOSSES = ['softmax_cross_entropy', 'binary_cross_entropy', 'mse', 'mae', 'huber'] as const;
export const LossSpec = z.union([
  z.enum(LOSSES),
  z.strictObject({ type: z.literal('huber'), delta: pos(1e6).default(1) }),
]);

const Optimizer = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('sgd'), momentum: unit.default(0), nesterov: z.boolean().default(false) }),
    z.strictObject({ type: z.literal('adagrad'), initialAccumulator: nonneg(1e6).default(0.1), epsilon: pos(1).default(1e-7) }),
    z.strictObject({
      type: z.literal('rmsprop'),
      rho: z.number().min(0).lt(1).default(0.9),
      momentum: unit.default(0),
      centered: z.boolean().default(false),
      epsilon: pos(1).default(1e-7),
    }),
    z.strictObject({
      type: z.literal('adam'),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      epsilon: pos(1).default(1e-7),
      weightDecay: nonneg(10).default(0),
      amsgrad: z.boolean().default(false),
    }),
    z.strictObject({
      type: z.literal('adamw'),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      epsilon: pos(1).default(1e-7),
      weightDecay: nonneg(10).default(0.004),
      amsgrad: z.boolean().default(false),
    }),
  ])
  .meta({ discriminator: { propertyName: 'type' } });

/** Keras's default learning rate per optimizer, used when the spec gives none. */
export const DEFAULT_LEARNING_RATE: Record<OptimizerSpec['type'], number> = {
  sgd: 0.01,
  adagrad: 0.001,
  rmsprop: 0.001,
  adam: 0.001,
  adamw: 0.001,
};

const lr = pos(10);
const decaySteps = int(1, 1e12);
const warmupSteps = int(0, 1e12).default(0);

const Schedule = z
  .discriminatedUnion('schedule', [
    z.strictObject({ schedule: z.literal('constant'), initial: lr, warmupSteps }),
    z.strictObject({ schedule: z.literal('step'), initial: lr, factor: pos(1).default(0.1), everyEpochs: int(1, 1e6), warmupSteps }),
    z.strictObject({
      schedule: z.literal('exponential'),
      initial: lr,
      decaySteps,
      decayRate: pos(1e3),
      staircase: z.boolean().default(false),
      warmupSteps,
    }),
    z.strictObject({
      schedule: z.literal('inverse_time'),
      initial: lr,
      decaySteps,
      decayRate: nonneg(1e6),
      staircase: z.boolean().default(false),
      warmupSteps,
    }),
    z.strictObject({
      schedule: z.literal('cosine'),
      initial: lr,
      decaySteps,
      alpha: unit.default(0),
      restarts: z.boolean().default(false),
      tMul: pos(100).default(2),
      mMul: pos(100).default(1),
      warmupSteps,
    }),
    z.strictObject({
      schedule: z.literal('polynomial'),
      initial: lr,
      decaySteps,
      endLearningRate: nonneg(10).default(1e-4),
      power: pos(100).default(1),
      cycle: z.boolean().default(false),
      warmupSteps,
    }),
    z.strictObject({
      schedule: z.literal('reduce_on_plateau'),
      initial: lr,
      factor: z.number().positive().lt(1).default(0.1),
      patience: int(0, 1e6).default(10),
      cooldown: int(0, 1e6).default(0),
      minLr: nonneg(10).default(0),
      minDelta: nonneg(1e6).default(1e-4),
      monitor: z.enum(METRIC_NAMES).default('val_loss'),
      mode: mode.default('auto'),
      warmupSteps,
    }),
  ])
  .meta({ discriminator: { propertyName: 'schedule' } });

const EarlyStopping = z.strictObject({
  monitor: z.enum(METRIC_NAMES).default('val_loss'),
  mode: mode.default('auto'),
  patience: int(0, 1e6).default(0),
  minDelta: nonneg(1e6).default(0),
  startFromEpoch: int(0, 1e6).default(0),
  baseline: z.number().min(-1e12).max(1e12).nullable().default(null),
  restoreBest: z.boolean().default(false),
});

export const DatasetRef = z.union([
  z.string().regex(DATASET_ID, 'an uploaded dataset id (ds_…)'),
  z.strictObject({ builtin: z.enum(BUILTIN_DATASETS) }),
]);

/** Fine-tuning: the checkpoint training starts from. Submission resolves "best" to its epoch and adds the sha256. */
export const InitFromSpec = z
  .strictObject({
    job: z.string().regex(JOB_ID, 'a job id (job_…)').describe("A job of this tenant whose checkpoint the weights (and normalization) start from."),
    checkpoint: z
      .union([z.literal('best'), int(1, 1e9)])
      .default('best')
      .describe('"best" (the job\'s best checkpoint at submission) or a kept epoch; the resolved spec holds the epoch.'),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'a sha256 in lowercase hex')
      .optional()
      .describe("The checkpoint's sha256: set in the resolved spec; when given, submission checks the checkpoint still has it."),
  })
  .meta({ id: 'InitFrom' });

const Validation = z.union([
  z.strictObject({ fraction: z.number().gt(0).lt(1) }),
  z.strictObject({ dataset: z.string().regex(DATASET_ID, 'an uploaded dataset id (ds_…)') }),
]);

export const JobSpecSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional().describe('A label for people; not unique.'),
    dataset: DatasetRef.describe('An uploaded dataset id (ds_…) or {"builtin": name}. The input width comes from it.'),
    validation: Validation.nullable()
      .default(null)
      .describe('Hold out a fraction of the dataset (ceil(fraction·rows) rows, seeded) or use another uploaded dataset. Needed for val_* metrics.'),
    model: z.strictObject({ layers: z.array(LayerSpec).min(1).max(64) }).describe('Layers in order; the last one is dense and produces the outputs.'),
    loss: LossSpec.describe('softmax_cross_entropy and binary_cross_entropy take logits (the output activation may stay linear).'),
    optimizer: Optimizer.default({ type: 'rmsprop', rho: 0.9, momentum: 0, centered: false, epsilon: 1e-7 }).describe('Default: RMSprop (Keras).'),
    learningRate: z
      .union([lr, Schedule])
      .optional()
      .describe("A constant or a schedule (steps count optimizer updates); default: the optimizer's Keras default (sgd 0.01, others 0.001)."),
    batchSize: z.union([int(1, 1_000_000), z.literal('full')]).default(32).describe('Rows per update; 1 = stochastic, "full" = whole-dataset gradient descent.'),
    dropLast: z.boolean().default(false).describe('Drop a last partial batch.'),
    epochs: int(1, 100_000).default(1).describe('The maximum number of epochs (Keras default 1).'),
    shuffle: z.boolean().default(true).describe('Reshuffle every epoch, from the seed.'),
    regularization: z
      .strictObject({ l1: nonneg(10).default(0), l2: nonneg(10).default(0) })
      .default({ l1: 0, l2: 0 })
      .describe('Penalties on weights (not biases), Keras convention: l2·Σw², l1·Σ|w|.'),
    clipNorm: pos(1e6).nullable().default(null).describe('Clip gradients by global norm; null = off.'),
    earlyStopping: EarlyStopping.nullable().default(null).describe('Keras EarlyStopping; null = off.'),
    convergence: z
      .strictObject({ tol: nonneg(1e6).default(1e-4), nIterNoChange: int(1, 1e6).default(10) })
      .nullable()
      .default(null)
      .describe('sklearn-style stop when the training loss has not improved by tol for nIterNoChange epochs; null = off.'),
    checkpoints: z
      .strictObject({
        keepBest: int(1, 1000).default(1),
        monitor: z.enum(METRIC_NAMES).nullable().default(null),
        mode: mode.default('auto'),
      })
      .default({ keepBest: 1, monitor: null, mode: 'auto' })
      .describe("Keep the best N checkpoints ranked by monitor (default: early stopping's, else val_loss with validation, else loss)."),
    stopping: z
      .strictObject({ maxRuntimeSeconds: int(1, 30 * 86400).nullable().default(null) })
      .default({ maxRuntimeSeconds: null })
      .describe('Wall-clock limit per run; the job ends with reason max_runtime.'),
    normalize: z
      .enum(['none', 'standard'])
      .default('none')
      .describe('"standard": per-feature mean/std from the training split, stored in every checkpoint and applied by predict.'),
    initFrom: InitFromSpec.optional().describe(
      'Fine-tune: start from this checkpoint\'s weights and normalization instead of a random init. The layers must have the same shapes (units, useBias, input width) and `normalize` the same value; data, optimizer, schedule and epochs may differ.',
    ),
    seed: int(0, 2 ** 32 - 1).optional().describe('Seeds init, the split, shuffling and dropout. Absent: a random seed, stored in the job.'),
    priority: int(0, 100).optional().describe('Queue priority 0–100, higher runs sooner (default 50).'),
  })
  .superRefine((spec, ctx) => {
    for (const issue of crossFieldIssues(spec)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .meta({ id: 'JobSpec' });

export type JobSpecInput = z.input<typeof JobSpecSchema>;
export type JobSpec = z.output<typeof JobSpecSchema>;
export type OptimizerSpec = z.output<typeof Optimizer>;
export type InitFrom = z.output<typeof InitFromSpec>;

export interface SpecIssue {
  path: (string | number)[];
  message: string;
}

/** The loss's name whether it was given as a string or an object. */
export function lossName(loss: JobSpec['loss']): (typeof LOSSES)[number] {
  return typeof loss === 'string' ? loss : loss.type;
}

/** Every metric name the spec monitors, with the field that names it. */
export function monitorsOf(spec: JobSpec): { path: (string | number)[]; monitor: string }[] {
  const out: { path: (string | number)[]; monitor: string }[] = [];
  if (spec.earlyStopping) out.push({ path: ['earlyStopping', 'monitor'], monitor: spec.earlyStopping.monitor });
  if (spec.checkpoints.monitor !== null) out.push({ path: ['checkpoints', 'monitor'], monitor: spec.checkpoints.monitor });
  if (typeof spec.learningRate === 'object' && spec.learningRate.schedule === 'reduce_on_plateau') {
    out.push({ path: ['learningRate', 'monitor'], monitor: spec.learningRate.monitor });
  }
  return out;
}

/** Cross-field checks that need no dataset: a spec failing them can never run. */
export function crossFieldIssues(spec: JobSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const layers = spec.model.layers;
  const lastIndex = layers.length - 1;
  const last = layers[lastIndex];
  const loss = lossName(spec.loss);
  if (last === undefined) return issues;
  if (last.type !== 'dense') {
    issues.push({ path: ['model', 'layers', lastIndex, 'type'], message: 'the last layer must be dense (it produces the outputs)' });
  } else {
    if (loss === 'softmax_cross_entropy' && last.units < 2) {
      issues.push({
        path: ['model', 'layers', lastIndex, 'units'],
        message: `softmax_cross_entropy needs an output layer of at least 2 units (one per class), got ${last.units}; use binary_cross_entropy for one unit`,
      });
    }
    if (loss === 'softmax_cross_entropy' && !['linear', 'softmax'].includes(last.activation)) {
      issues.push({ path: ['model', 'layers', lastIndex, 'activation'], message: `softmax_cross_entropy takes logits: the output activation must be linear or softmax, got ${last.activation}` });
    }
    if (loss === 'binary_cross_entropy' && !['linear', 'sigmoid'].includes(last.activation)) {
      issues.push({ path: ['model', 'layers', lastIndex, 'activation'], message: `binary_cross_entropy takes logits: the output activation must be linear or sigmoid, got ${last.activation}` });
    }
    if (last.activation === 'softmax' && loss !== 'softmax_cross_entropy') {
      issues.push({ path: ['model', 'layers', lastIndex, 'activation'], message: `a softmax output needs loss softmax_cross_entropy, got ${loss}` });
    }
  }
  layers.forEach((l, i) => {
    if (i !== lastIndex && l.type === 'dense' && l.activation === 'softmax') {
      issues.push({ path: ['model', 'layers', i, 'activation'], message: 'softmax is only allowed on the output layer' });
    }
  });
  const hasValidation = spec.validation !== null;
  for (const m of monitorsOf(spec)) {
    if (m.monitor.startsWith('val_') && !hasValidation) {
      issues.push({ path: m.path, message: `monitor ${m.monitor} needs validation data: add "validation": {"fraction": 0.1} or monitor a training metric` });
    }
  }
  if (spec.earlyStopping && spec.earlyStopping.startFromEpoch >= spec.epochs) {
    issues.push({ path: ['earlyStopping', 'startFromEpoch'], message: `startFromEpoch (${spec.earlyStopping.startFromEpoch}) must be below epochs (${spec.epochs})` });
  }
  const sched = spec.learningRate;
  if (typeof sched === 'object' && sched.schedule === 'polynomial' && sched.endLearningRate > sched.initial) {
    issues.push({ path: ['learningRate', 'endLearningRate'], message: `endLearningRate (${sched.endLearningRate}) must not exceed initial (${sched.initial})` });
  }
  if (typeof sched === 'object' && sched.schedule === 'reduce_on_plateau' && sched.minLr > sched.initial) {
    issues.push({ path: ['learningRate', 'minLr'], message: `minLr (${sched.minLr}) must not exceed initial (${sched.initial})` });
  }
  return issues;
}
