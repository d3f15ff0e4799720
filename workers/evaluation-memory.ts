// An evaluation's memory estimate, from metadata alone (the checkpoint's header, the dataset's
// record), so it can be admitted against WORKER_MEMORY_BYTES beside training jobs before its thread
// starts. The model's buffers are the core's training estimate (src/core/memory.ts) at the
// evaluation's 256-row chunk, without what only training holds (optimizer state, weight copies,
// row order, resume files); what evaluation adds is counted here.
// N rows, I features, T target width.

import { memoryEstimate, type TrainConfig } from '../src/core/index.js';

/** Rows scored per forward pass (src/core/evaluate-checkpoint.ts, and the loaded model's buffers). */
const CHUNK_ROWS = 256;

/**
 * The thread itself: its isolate, modules, kernels and garbage. Measured on Node 20 as the worker's
 * RSS growth minus the other parts: 30–37 MiB over Fashion-MNIST evaluations of 10,000 and 60,000
 * rows (31–33 MiB of it as soon as the modules and kernels are loaded); rounded up.
 */
export const EVALUATION_THREAD_BYTES = 40 * 1024 * 1024;

/** The dataset as the thread loads it: its stored file, or a built-in made in memory (fileBytes null). */
export interface EvaluatedData {
  rows: number;
  features: number;
  targetWidth: number;
  /** Bytes of the stored file; null for a built-in dataset. */
  fileBytes: number | null;
}

export interface EvaluationMemoryParts {
  /** The thread itself: its isolate, modules and kernels. */
  thread: number;
  /** The checkpoint file read whole, and its tensors decoded from it. */
  checkpoint: number;
  /** Weights and their gradient buffers, the weights packed for inference, the layers' buffers at 256 rows, metrics sums. */
  model: number;
  /** The rows: the stored file, features decoded in place (targets copied when unaligned); a built-in's float32 rows. */
  dataset: number;
}

export interface EvaluationMemoryEstimate {
  bytes: number;
  parts: EvaluationMemoryParts;
}

/** The checkpoint's training config from its `__metadata__`, or null when it does not parse. */
function configOf(metadata: Record<string, string>): TrainConfig | null {
  try {
    const config = JSON.parse(metadata.config ?? '') as Partial<TrainConfig>;
    return Array.isArray(config.layers) && config.loss !== undefined ? (config as TrainConfig) : null;
  } catch {
    return null;
  }
}

/**
 * Peak bytes of scoring the checkpoint (its header's `metadata`, its file's `checkpointBytes`) on
 * `data`; null when the header does not describe a model (the thread will say why it cannot load).
 */
export function evaluationMemoryEstimate(metadata: Record<string, string>, checkpointBytes: number, data: EvaluatedData): EvaluationMemoryEstimate | null {
  const config = configOf(metadata);
  const inputWidth = Number(metadata.input_width);
  if (config === null || !Number.isSafeInteger(inputWidth) || inputWidth < 1) return null;
  const { rows: N, features: I, targetWidth: T } = data;
  // Training's buffers at the chunk size with a stateless optimizer and no whole-dataset copies.
  const core = memoryEstimate(
    { layers: config.layers, loss: config.loss, optimizer: { type: 'sgd', momentum: 0, nesterov: false }, batchSize: CHUNK_ROWS, normalize: 'none', earlyStopping: null },
    { trainRows: CHUNK_ROWS, validationRows: 0, features: inputWidth, targetWidth: T },
  ).parts;
  const parts: EvaluationMemoryParts = {
    thread: EVALUATION_THREAD_BYTES,
    checkpoint: 2 * checkpointBytes,
    model: core.parameters * 2 + core.gradients + core.activations + core.activationGradients + core.dropoutMasks + core.other,
    dataset: data.fileBytes === null ? 4 * N * (I + T) : data.fileBytes + 4 * N * T,
  };
  return { bytes: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}
