// How many bytes one training run holds at its peak, computed from shapes alone (no allocation), so
// a job can be priced before it runs. Each part mirrors what train.ts, model.ts and the optimizers
// allocate for the run; a test counts those allocations and holds the estimate to them.
// B batch, mb the model's buffer rows (max of B and the evaluation chunk), I inputs, O outputs,
// T target width, N training rows, V validation rows, P parameters.

import { lossFusesActivation } from './model.js';
import { momentNames } from './optimizers.js';
import { EVAL_CHUNK } from './run-state.js';
import type { TrainConfig } from './types.js';

const F32 = 4;
const F64 = 8;
/** Heap cost of one Float32Array view (V8 object + array slot; ~107 bytes measured on Node 20,
 *  rounded up; a test measures it). Training makes none per row any more (rows are gathered by
 *  index); the memory test charges any view a run does make at this cost. */
export const ROW_VIEW_BYTES = 128;
/** Allowance for one safetensors file's JSON header (tensor table, config, spec, state). */
export const HEADER_BYTES = 64 * 1024;

/** What the estimate needs of the data: row counts after the validation split, and widths. */
export interface MemoryDataShape {
  trainRows: number;
  validationRows: number;
  features: number;
  targetWidth: number;
  /** Bytes per stored feature: 4 for float32 (the default), 1 for byte features (IDX pixels). */
  featureBytes?: number;
}

export type MemoryConfig = Pick<TrainConfig, 'layers' | 'loss' | 'optimizer' | 'batchSize' | 'normalize' | 'earlyStopping'>;

export interface MemoryParts {
  /** Weights and biases. */
  parameters: number;
  /** Their gradients (one per parameter). */
  gradients: number;
  /** The optimizer's moments: sgd+momentum 1 per parameter, adagrad 1, rmsprop 1–3, adam 2 (3 with amsgrad). */
  optimizerState: number;
  /** Forward buffers at the batch size: pre-activations and outputs of every layer, the gathered
   *  batch, predictions. Sized for max(batch, validation chunk of 256 rows) where the model's are. */
  activations: number;
  /** Backward buffers at the batch size: ∂L/∂Z, ∂L/∂input per layer, ∂L/∂output. */
  activationGradients: number;
  /** One float per unit per row for every dropout layer. */
  dropoutMasks: number;
  /** The training and validation rows: float32 features (or bytes) and targets (float32 features twice over with normalize). */
  dataset: number;
  /** The epoch's row order (rows are gathered by index, without a view per row). */
  rowIndex: number;
  /** Weights of the last good epoch, and of the best epoch when early stopping restores it. */
  weightCopies: number;
  /** Resume state and checkpoint files as bytes in memory (written after every epoch, read back on resume). */
  serialization: number;
  /** Metrics sums, normalization statistics, kernel scratch. */
  other: number;
}

export interface MemoryEstimate {
  bytes: number;
  parts: MemoryParts;
}

/** Rows per optimizer step, as train.ts resolves them: "full" is every training row. */
export function resolvedBatchRows(batchSize: number | 'full', trainRows: number): number {
  return batchSize === 'full' ? trainRows : Math.min(batchSize, trainRows);
}

/** Peak bytes of training `config` on data of `shape`, by part. */
export function memoryEstimate(config: MemoryConfig, shape: MemoryDataShape): MemoryEstimate {
  const { trainRows: N, validationRows: V, features: I, targetWidth: T } = shape;
  const B = resolvedBatchRows(config.batchSize, N);
  const mb = Math.max(B, Math.min(EVAL_CHUNK, V));
  const fused = lossFusesActivation(config.loss);
  const last = config.layers.length - 1;

  let P = 0;
  let activations = 0;
  let activationGradients = 0;
  let dropoutMasks = 0;
  let width = I;
  let widest = I;
  let hasParamsBelow = false;
  config.layers.forEach((layer, i) => {
    if (layer.type === 'dropout') {
      activations += mb * width;
      dropoutMasks += mb * width;
      if (hasParamsBelow) activationGradients += mb * width;
      return;
    }
    const O = layer.units;
    P += O * width + (layer.useBias ? O : 0);
    const linear = (fused && i === last) || layer.activation === 'linear';
    activations += mb * O * (linear ? 1 : 2); // Z, and A unless it aliases Z
    if (!linear) activationGradients += mb * O; // dZ
    if (hasParamsBelow) activationGradients += mb * width; // dIn
    hasParamsBelow = true;
    widest = Math.max(widest, width);
    width = O;
  });
  const O = width;
  activations += B * I + B * T + mb * O; // gathered X and Y, predictions
  activationGradients += B * O; // dOut

  const slots = momentNames(config.optimizer).length;
  const restoresBest = config.earlyStopping?.restoreBest === true;
  const normalizeFloats = config.normalize === 'standard' ? 2 * I : 0;
  const checkpoint = HEADER_BYTES + F32 * (P + normalizeFloats);
  const resume = HEADER_BYTES + F32 * (P * (1 + slots + (restoresBest ? 1 : 0)) + normalizeFloats + 2);
  // Byte features take 1 byte each until standardization makes them floats; validating on them
  // converts one evaluation chunk at a time into a float buffer.
  const featureBytes = shape.featureBytes ?? F32;
  const byteFeatures = featureBytes !== F32 && config.normalize !== 'standard';
  const datasetBytes = byteFeatures ? (N + V) * (featureBytes * I + F32 * T) : F32 * ((N + V) * (I + T) + (config.normalize === 'standard' ? (N + V) * I : 0));
  const evalChunk = byteFeatures && V > 0 ? F32 * mb * I : 0;

  const parts: MemoryParts = {
    parameters: F32 * P,
    gradients: F32 * P,
    optimizerState: F32 * P * slots,
    activations: F32 * activations + evalChunk,
    activationGradients: F32 * activationGradients,
    dropoutMasks: F32 * dropoutMasks,
    dataset: datasetBytes,
    rowIndex: N * 4,
    weightCopies: F32 * P * (restoresBest ? 2 : 1),
    // After an epoch: the resume state plus the epoch's and the final checkpoint (garbage is not
    // collected at once). On resume: the file read back, the tensors decoded from it, and the
    // restored optimizer state while the fresh one it replaces is still referenced.
    serialization: resume + Math.max(resume + F32 * P * slots, 2 * checkpoint),
    // Two metrics accumulators and target means (float64 per output), standardization statistics,
    // the plain-TypeScript GEMM's float64 row accumulator.
    other: F64 * (6 * Math.max(O, T) + 3 * I + widest),
  };
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  return { bytes, parts };
}
