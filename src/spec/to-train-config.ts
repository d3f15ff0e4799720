// From a validated job spec to the core's TrainConfig, plus the checks that need the dataset
// (output width vs classes, batch vs rows, metric names vs task) and the configured limits.
import { randomInt } from 'node:crypto';
import type { LayerConfig, LossConfig, ScheduleConfig, Task, TrainConfig } from '../core/types.js';
import { DEFAULT_LEARNING_RATE, lossName, monitorsOf, type JobSpec, type SpecIssue } from './job-spec.js';

export const DEFAULT_PRIORITY = 50;

/**
 * Fills what the spec leaves to submission time, so the stored spec says exactly what runs:
 * a random seed, the optimizer's default learning rate, the priority.
 */
export function resolveSpec(spec: JobSpec): JobSpec & { seed: number; priority: number; learningRate: NonNullable<JobSpec['learningRate']> } {
  return {
    ...spec,
    seed: spec.seed ?? randomInt(0, 2 ** 31),
    priority: spec.priority ?? DEFAULT_PRIORITY,
    learningRate: spec.learningRate ?? DEFAULT_LEARNING_RATE[spec.optimizer.type],
  };
}

/** The metric checkpoints are ranked by: the spec's, else early stopping's, else val_loss/loss. */
export function checkpointMonitor(spec: JobSpec): string {
  if (spec.checkpoints.monitor !== null) return spec.checkpoints.monitor;
  if (spec.earlyStopping) return spec.earlyStopping.monitor;
  return spec.validation !== null ? 'val_loss' : 'loss';
}

function toLoss(loss: JobSpec['loss']): LossConfig {
  if (typeof loss === 'object') return { type: 'huber', delta: loss.delta };
  if (loss === 'huber') return { type: 'huber', delta: 1 };
  return { type: loss };
}

function toSchedule(spec: JobSpec): ScheduleConfig {
  const lr = spec.learningRate ?? DEFAULT_LEARNING_RATE[spec.optimizer.type];
  if (typeof lr === 'number') return { schedule: 'constant', initial: lr, warmupSteps: 0 };
  return lr;
}

function toLayers(spec: JobSpec): LayerConfig[] {
  return spec.model.layers.map((l): LayerConfig => {
    if (l.type === 'dropout') return { type: 'dropout', rate: l.rate };
    const dense: LayerConfig = { type: 'dense', units: l.units, activation: l.activation, init: l.init, useBias: l.useBias, biasInit: l.biasInit };
    if (l.alpha !== undefined) dense.alpha = l.alpha;
    return dense;
  });
}

export function toTrainConfig(spec: JobSpec): TrainConfig {
  return {
    layers: toLayers(spec),
    loss: toLoss(spec.loss),
    optimizer: spec.optimizer,
    learningRate: toSchedule(spec),
    batchSize: spec.batchSize,
    dropLast: spec.dropLast,
    epochs: spec.epochs,
    shuffle: spec.shuffle,
    regularization: { l1: spec.regularization.l1, l2: spec.regularization.l2 },
    clipNorm: spec.clipNorm,
    earlyStopping: spec.earlyStopping,
    convergence: spec.convergence,
    checkpoints: { keepBest: spec.checkpoints.keepBest, monitor: checkpointMonitor(spec), mode: spec.checkpoints.mode },
    maxRuntimeSeconds: spec.stopping.maxRuntimeSeconds,
    normalize: spec.normalize,
    seed: spec.seed ?? 0,
  };
}

/** What the checks need to know about a dataset (an uploaded one's metadata or a built-in's). */
export interface DatasetInfo {
  rows: number;
  features: number;
  /** Classes for classification (integer labels 0..classes-1), null for regression. */
  classes: number | null;
  task: Task;
  targetWidth: number;
  /** Bytes per stored feature: 1 for IDX pixels kept as bytes, 4 (the default) for float32. */
  featureBytes?: number;
}

/** Rows left for training after the validation split: the held-out part is ceil(rows · fraction), as the core's splitHoldout. */
export function trainingRows(spec: JobSpec, rows: number): number {
  if (spec.validation !== null && 'fraction' in spec.validation) return rows - Math.ceil(rows * spec.validation.fraction);
  return rows;
}

const CLASSIFICATION_ONLY = new Set(['accuracy', 'val_accuracy']);
const REGRESSION_ONLY = new Set(['mae', 'rmse', 'r2', 'val_mae', 'val_rmse', 'val_r2']);

/**
 * Checks a spec against its dataset (and validation dataset, if separate). Each issue names the
 * spec field to change.
 */
export function checkSpecAgainstDataset(spec: JobSpec, data: DatasetInfo, validation: DatasetInfo | null = null): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const train = trainingRows(spec, data.rows);
  if (spec.validation !== null && 'fraction' in spec.validation) {
    const held = data.rows - train;
    if (held < 1 || train < 1) {
      issues.push({ path: ['validation', 'fraction'], message: `a fraction of ${spec.validation.fraction} of ${data.rows} rows leaves ${train} training and ${held} validation rows; both need at least 1` });
    }
  }
  if (validation !== null) {
    if (validation.features !== data.features) {
      issues.push({ path: ['validation', 'dataset'], message: `the validation dataset has ${validation.features} features, the training dataset ${data.features}` });
    }
    if (validation.targetWidth !== data.targetWidth) {
      issues.push({ path: ['validation', 'dataset'], message: `the validation dataset's label width is ${validation.targetWidth}, the training dataset's ${data.targetWidth}` });
    }
  }
  if (typeof spec.batchSize === 'number' && spec.dropLast && spec.batchSize > train) {
    issues.push({ path: ['batchSize'], message: `batchSize ${spec.batchSize} is larger than the ${train} training rows and dropLast is set: no batch would run` });
  }
  const layers = spec.model.layers;
  const lastIndex = layers.length - 1;
  const last = layers[lastIndex];
  const loss = lossName(spec.loss);
  if (last !== undefined && last.type === 'dense') {
    const unitsPath = ['model', 'layers', lastIndex, 'units'];
    if (loss === 'softmax_cross_entropy') {
      if (data.task !== 'classification' || data.classes === null) {
        issues.push({ path: ['loss'], message: 'softmax_cross_entropy needs a classification dataset (integer class labels); this dataset is regression' });
      } else if (data.targetWidth === 1 && last.units !== data.classes) {
        issues.push({ path: unitsPath, message: `the output layer has ${last.units} units but the dataset has ${data.classes} classes` });
      } else if (data.targetWidth > 1 && last.units !== data.targetWidth) {
        issues.push({ path: unitsPath, message: `the output layer has ${last.units} units but the dataset's targets are ${data.targetWidth} wide` });
      }
    } else if (loss === 'binary_cross_entropy') {
      if (data.targetWidth === 1 && data.classes !== null && data.classes > 2) {
        issues.push({ path: ['loss'], message: `binary_cross_entropy needs 0/1 labels but the dataset has ${data.classes} classes; use softmax_cross_entropy` });
      } else if (last.units !== data.targetWidth) {
        issues.push({ path: unitsPath, message: `the output layer has ${last.units} units but the dataset's labels are ${data.targetWidth} wide` });
      }
    } else if (last.units !== data.targetWidth) {
      issues.push({ path: unitsPath, message: `the output layer has ${last.units} units but the dataset's targets are ${data.targetWidth} wide (loss ${loss})` });
    }
  }
  const monitors = monitorsOf(spec);
  const classification = loss === 'softmax_cross_entropy' || loss === 'binary_cross_entropy';
  for (const m of monitors) {
    if (CLASSIFICATION_ONLY.has(m.monitor) && !classification) {
      issues.push({ path: m.path, message: `${m.monitor} is recorded only for classification losses (softmax/binary cross-entropy), not ${loss}` });
    }
    if (REGRESSION_ONLY.has(m.monitor) && classification) {
      issues.push({ path: m.path, message: `${m.monitor} is recorded only for regression losses, not ${loss}` });
    }
  }
  return issues;
}

/** Trainable parameters of the model on `features` inputs. */
export function parameterCount(spec: JobSpec, features: number): number {
  let width = features;
  let count = 0;
  for (const l of spec.model.layers) {
    if (l.type !== 'dense') continue;
    count += width * l.units + (l.useBias ? l.units : 0);
    width = l.units;
  }
  return count;
}

export interface SpecLimits {
  modelParams: number;
  epochRows: number;
  checkpoints: number;
}

/** The configured resource limits: a spec over them is refused with the field to shrink. */
export function checkSpecLimits(spec: JobSpec, data: DatasetInfo, limits: SpecLimits): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const params = parameterCount(spec, data.features);
  if (params > limits.modelParams) {
    issues.push({ path: ['model', 'layers'], message: `the model has ${params} parameters; the limit is ${limits.modelParams}` });
  }
  const work = spec.epochs * trainingRows(spec, data.rows);
  if (work > limits.epochRows) {
    issues.push({ path: ['epochs'], message: `epochs × training rows = ${work}; the limit is ${limits.epochRows}` });
  }
  if (spec.checkpoints.keepBest > limits.checkpoints) {
    issues.push({ path: ['checkpoints', 'keepBest'], message: `keepBest ${spec.checkpoints.keepBest} is over the limit of ${limits.checkpoints}` });
  }
  return issues;
}
