// Model checkpoints: the weights as safetensors in nn.Linear layout (`layers.{i}.weight` [O × I],
// `layers.{i}.bias` [O]), the standardization when the config normalizes, and the config, epoch,
// step, metrics and what the output layer gives as metadata, so the file alone reproduces the
// model's predictions.

import { standardize, type Standardization } from './data.js';
import { CoreError } from './errors.js';
import type { Kernels } from './kernels/kernels.js';
import { jsKernels } from './kernels/js.js';
import { outputTransform } from './losses.js';
import { taskOf } from './metrics.js';
import { inferenceOf } from './inference.js';
import { createModel, type Model, type Param } from './model.js';
import { createRng } from './rng.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';
import type { EpochMetrics, Task, TrainConfig } from './types.js';

export const CHECKPOINT_FORMAT = 'traind.checkpoint';
export const CHECKPOINT_VERSION = '1';

/** An epoch's metrics without the wall-clock fields, so the same run always writes the same bytes. */
export type DeterministicMetrics = Omit<EpochMetrics, 'seconds' | 'samplesPerSec'>;

function deterministicMetrics(m: EpochMetrics): DeterministicMetrics {
  const { seconds: _s, samplesPerSec: _r, ...rest } = m;
  return rest;
}

export interface CheckpointInfo {
  epoch: number;
  step: number;
  metrics: EpochMetrics | null;
  inputWidth: number;
  normalization: Standardization | null;
}

export function weightTensors(params: readonly Param[], prefix = ''): NamedTensor[] {
  return params.map((p) => ({ name: prefix + p.name, shape: p.shape, data: p.data }));
}

function normalizationTensors(s: Standardization | null): NamedTensor[] {
  if (s === null) return [];
  return [
    { name: 'normalize.mean', shape: [s.mean.length], data: s.mean },
    { name: 'normalize.std', shape: [s.std.length], data: s.std },
  ];
}

/**
 * What the stored output layer gives: logits for the losses that fuse softmax/sigmoid (that
 * activation is not part of the stored model; predict applies `output_transform`), else the
 * values, the output layer's own activation included.
 */
function outputMetadata(config: TrainConfig): { output: 'logits' | 'values'; output_transform: 'softmax' | 'sigmoid' | 'none' } {
  if (config.loss.type === 'softmax_cross_entropy') return { output: 'logits', output_transform: 'softmax' };
  if (config.loss.type === 'binary_cross_entropy') return { output: 'logits', output_transform: 'sigmoid' };
  return { output: 'values', output_transform: 'none' };
}

export function checkpointBytes(
  params: readonly Param[],
  config: TrainConfig,
  info: CheckpointInfo,
  extraMetadata: Record<string, string> = {},
): Uint8Array {
  const metadata: Record<string, string> = {
    ...extraMetadata,
    format: CHECKPOINT_FORMAT,
    format_version: CHECKPOINT_VERSION,
    config: JSON.stringify(config),
    epoch: String(info.epoch),
    step: String(info.step),
    metrics: info.metrics === null ? 'null' : JSON.stringify(deterministicMetrics(info.metrics)),
    task: taskOf(config.loss),
    input_width: String(info.inputWidth),
    ...outputMetadata(config),
  };
  return encodeSafetensors([...weightTensors(params), ...normalizationTensors(info.normalization)], metadata);
}

/** A checkpoint loaded for inference. */
export interface Checkpoint {
  config: TrainConfig;
  task: Task;
  epoch: number;
  step: number;
  metrics: DeterministicMetrics | null;
  inputWidth: number;
  outputWidth: number;
  normalization: Standardization | null;
  /** All metadata, including what the caller added when training (e.g. the job spec). */
  metadata: Record<string, string>;
  model: Model;
}

/** Rows per forward pass in `predict`; results do not depend on it (each row is computed alone). */
const PREDICT_CHUNK = 256;

function requireMeta(metadata: Record<string, string>, key: string): string {
  const v = metadata[key];
  if (v === undefined) throw new CoreError('checkpoint', `checkpoint metadata lacks "${key}"`);
  return v;
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CoreError('checkpoint', `checkpoint metadata "${what}" is not valid JSON`);
  }
}

function parseCount(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new CoreError('checkpoint', `checkpoint metadata "${what}" must be a count, got ${text}`);
  return n;
}

/**
 * Parses a checkpoint written by `checkpointBytes` into a ready inference model. Throws
 * SafetensorsError for a malformed file and CoreError for a valid file that is not our checkpoint.
 */
export function loadCheckpoint(bytes: Uint8Array, kernels: Kernels = jsKernels): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CoreError('checkpoint', `not a traind checkpoint (format ${JSON.stringify(metadata.format ?? null)})`);
  }
  if (metadata.format_version !== CHECKPOINT_VERSION) {
    throw new CoreError('checkpoint', `unsupported checkpoint version ${JSON.stringify(metadata.format_version)}`);
  }
  const config = parseJson<TrainConfig>(requireMeta(metadata, 'config'), 'config');
  const inputWidth = parseCount(requireMeta(metadata, 'input_width'), 'input_width');
  const model = createModel(config.layers, inputWidth, config.loss, createRng(config.seed), kernels, PREDICT_CHUNK);
  for (const p of model.params) {
    const t = tensors.get(p.name);
    if (t === undefined) throw new CoreError('checkpoint', `checkpoint lacks tensor ${p.name}`);
    if (t.shape.join(',') !== p.shape.join(',')) {
      throw new CoreError('checkpoint', `tensor ${p.name} has shape [${t.shape.join(', ')}], the config needs [${p.shape.join(', ')}]`);
    }
    p.data.set(t.data);
  }
  let normalization: Standardization | null = null;
  if (config.normalize === 'standard') {
    const mean = tensors.get('normalize.mean');
    const std = tensors.get('normalize.std');
    if (mean === undefined || std === undefined || mean.data.length !== inputWidth || std.data.length !== inputWidth) {
      throw new CoreError('checkpoint', `checkpoint lacks normalize.mean/normalize.std of length ${inputWidth}`);
    }
    normalization = { mean: mean.data, std: std.data };
  }
  return {
    config,
    task: taskOf(config.loss),
    epoch: parseCount(requireMeta(metadata, 'epoch'), 'epoch'),
    step: parseCount(requireMeta(metadata, 'step'), 'step'),
    metrics: parseJson<DeterministicMetrics | null>(requireMeta(metadata, 'metrics'), 'metrics'),
    inputWidth,
    outputWidth: model.outputWidth,
    normalization,
    metadata,
    model,
  };
}

/**
 * Predictions for n rows of x [n × inputWidth]: class probabilities (softmax CE), per-output
 * probabilities (BCE) or values (regression), [n × width]. Applies the stored standardization.
 */
export function predict(ckpt: Checkpoint, x: Float32Array, n: number): { outputs: Float32Array; width: number; task: Task } {
  const I = ckpt.inputWidth;
  const O = ckpt.outputWidth;
  if (!Number.isSafeInteger(n) || n < 0 || x.length !== n * I) {
    throw new CoreError('inputs', `expected ${n} rows of ${I} features (${n * I} values), got ${x.length} values`);
  }
  let input = x;
  if (ckpt.normalization !== null) {
    input = new Float32Array(n * I);
    standardize(x, n, I, ckpt.normalization, input);
  }
  const outputs = new Float32Array(n * O);
  const inference = inferenceOf(ckpt.model);
  const softmax = ckpt.config.loss.type === 'softmax_cross_entropy';
  if (n > 0 && inference.runAll(input, n, outputs, softmax)) {
    // Straight into the outputs; the other losses' transforms (sigmoid, identity) work in place.
    if (!softmax) outputTransform(ckpt.config.loss, outputs, outputs, n, O);
    return { outputs, width: O, task: ckpt.task };
  }
  for (let start = 0; start < n; start += PREDICT_CHUNK) {
    const B = Math.min(PREDICT_CHUNK, n - start);
    const out = inference.run(input.subarray(start * I, (start + B) * I), B);
    const probs = outputs.subarray(start * O, (start + B) * O);
    if (!(ckpt.config.loss.type === 'softmax_cross_entropy' && (ckpt.model.kernels.softmaxRows?.(out, probs, B, O) ?? false))) {
      outputTransform(ckpt.config.loss, out, probs, B, O);
    }
  }
  return { outputs, width: O, task: ckpt.task };
}
