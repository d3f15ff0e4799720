// Checks a whole TrainConfig, and the arrays it will train on, before anything is allocated, so a
// run that cannot work is refused up front with the offending field's path (CoreError.path).

import { validateEarlyStopping } from './early-stopping.js';
import { CoreError } from './errors.js';
import { taskOf } from './metrics.js';
import { validateModel } from './model.js';
import { validateOptimizer } from './optimizers.js';
import { validateRegularization } from './regularization.js';
import { validateSchedule } from './schedules.js';
import type { Dataset, Task, TrainConfig } from './types.js';

/** The metric names an epoch reports, which monitors may name. */
export function metricNames(task: Task, hasValidation: boolean): string[] {
  const base = task === 'classification' ? ['loss', 'accuracy'] : ['loss', 'mae', 'rmse', 'r2'];
  return hasValidation ? [...base, ...base.map((m) => `val_${m}`)] : base;
}

function checkMonitor(path: string, monitor: string, task: Task, hasValidation: boolean | undefined): void {
  if (!metricNames(task, true).includes(monitor)) {
    throw new CoreError(path, `unknown metric '${monitor}' for ${task}; one of ${metricNames(task, true).join(', ')}`);
  }
  if (hasValidation === false && monitor.startsWith('val_')) {
    throw new CoreError(path, `${monitor} needs a validation set, and this job has none`);
  }
}

function count(path: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new CoreError(path, `${path.split('.').pop()} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** The output layer's index and width (validateModel guarantees the last layer is dense). */
function outputLayer(config: TrainConfig): { index: number; units: number } {
  const index = config.layers.length - 1;
  const last = config.layers[index]!;
  return { index, units: last.type === 'dense' ? last.units : 0 };
}

/**
 * Throws CoreError naming the field of the first problem found. `rows` (training rows) and
 * `hasValidation`, when given, enable the checks that depend on them.
 */
export function validateConfig(
  config: TrainConfig,
  inputWidth: number,
  targetWidth: number,
  opts: { rows?: number; hasValidation?: boolean } = {},
): void {
  validateModel(config.layers, inputWidth, config.loss);
  const task = taskOf(config.loss);
  const out = outputLayer(config);
  const fits = config.loss.type === 'softmax_cross_entropy' ? targetWidth === 1 || targetWidth === out.units : targetWidth === out.units;
  if (!fits) {
    const want = config.loss.type === 'softmax_cross_entropy' ? `1 (a class label) or ${out.units} (a distribution)` : `${out.units}`;
    throw new CoreError(
      `layers.${out.index}.units`,
      `the output layer has ${out.units} units, so ${config.loss.type} needs targets of width ${want}; the data has ${targetWidth}`,
    );
  }

  validateOptimizer(config.optimizer, 'optimizer');
  validateSchedule(config.learningRate, 'learningRate');
  validateRegularization(config.regularization, config.clipNorm, 'regularization');

  if (config.batchSize !== 'full') count('batchSize', config.batchSize, 1);
  if (opts.rows !== undefined && config.dropLast && config.batchSize !== 'full' && config.batchSize > opts.rows) {
    throw new CoreError(
      'batchSize',
      `batchSize ${config.batchSize} exceeds the ${opts.rows} training rows, and dropLast would drop every batch`,
    );
  }
  count('epochs', config.epochs, 1);
  if (config.convergence !== null) {
    const { tol, nIterNoChange } = config.convergence;
    if (!Number.isFinite(tol) || tol < 0) throw new CoreError('convergence.tol', `tol must be >= 0, got ${tol}`);
    count('convergence.nIterNoChange', nIterNoChange, 1);
  }
  if (config.maxRuntimeSeconds !== null && !(Number.isFinite(config.maxRuntimeSeconds) && config.maxRuntimeSeconds > 0)) {
    throw new CoreError('stopping.maxRuntimeSeconds', `maxRuntimeSeconds must be > 0, got ${config.maxRuntimeSeconds}`);
  }
  if (config.normalize !== 'none' && config.normalize !== 'standard') {
    throw new CoreError('normalize', `normalize must be 'none' or 'standard', got ${JSON.stringify(config.normalize)}`);
  }
  if (!Number.isSafeInteger(config.seed)) throw new CoreError('seed', `seed must be a safe integer, got ${config.seed}`);

  if (config.earlyStopping !== null) {
    validateEarlyStopping(config.earlyStopping, 'earlyStopping');
    checkMonitor('earlyStopping.monitor', config.earlyStopping.monitor, task, opts.hasValidation);
  }
  count('checkpoints.keepBest', config.checkpoints.keepBest, 0);
  if (!['min', 'max', 'auto'].includes(config.checkpoints.mode)) {
    throw new CoreError('checkpoints.mode', `mode must be min, max or auto, got ${JSON.stringify(config.checkpoints.mode)}`);
  }
  if (config.checkpoints.monitor !== null) {
    checkMonitor('checkpoints.monitor', config.checkpoints.monitor, task, opts.hasValidation);
  }
  if (config.learningRate.schedule === 'reduce_on_plateau') {
    checkMonitor('learningRate.monitor', config.learningRate.monitor, task, opts.hasValidation);
  }
}

function checkLabels(ds: Dataset, O: number, path: string): void {
  for (let i = 0; i < ds.n; i++) {
    const c = ds.y[ds.rows === undefined ? i : ds.rows[i]!]!;
    if (!Number.isInteger(c) || c < 0 || c >= O) {
      throw new CoreError(path, `class label at row ${i} must be an integer in [0, ${O}), got ${c}`);
    }
  }
}

/** Whether ds's arrays hold its n rows: exactly (n rows), or for a view every row it names. */
function holdsRows(ds: Dataset): boolean {
  const { rows, features: I, targetWidth: T } = ds;
  if (rows === undefined) return ds.x.length === ds.n * I && ds.y.length === ds.n * T;
  const total = ds.x.length / I;
  if (rows.length !== ds.n || !Number.isInteger(total) || ds.y.length !== total * T) return false;
  for (let i = 0; i < rows.length; i++) if (!(rows[i]! >= 0 && rows[i]! < total)) return false;
  return true;
}

/** Checks the training and validation arrays: their lengths, matching widths, and class labels in range. */
export function validateData(config: TrainConfig, data: { train: Dataset; validation: Dataset | null }): void {
  const { train, validation } = data;
  if (train.n < 1) throw new CoreError('dataset', 'the training set has no rows');
  if (!holdsRows(train)) {
    throw new CoreError('dataset', `the training arrays do not hold ${train.n} rows of ${train.features} features and ${train.targetWidth} targets`);
  }
  if (validation !== null) {
    if (validation.features !== train.features || validation.targetWidth !== train.targetWidth) {
      throw new CoreError('validation', `validation rows have ${validation.features} features and ${validation.targetWidth} targets, training rows ${train.features} and ${train.targetWidth}`);
    }
    if (validation.n < 1 || !holdsRows(validation)) {
      throw new CoreError('validation', `the validation arrays do not hold ${validation.n} rows (at least 1)`);
    }
  }
  const last = config.layers[config.layers.length - 1];
  if (config.loss.type === 'softmax_cross_entropy' && train.targetWidth === 1 && last?.type === 'dense') {
    checkLabels(train, last.units, 'dataset');
    if (validation !== null) checkLabels(validation, last.units, 'validation');
  }
}
