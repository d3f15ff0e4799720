// The numeric core's public entry: everything the service uses, and nothing of the internals.

export type * from './types.js';
export type { Kernels } from './kernels/kernels.js';
export { jsKernels } from './kernels/js.js';
export { selectKernels, createBackend, availableBackends } from './kernels/select.js';
export { nativeLoadError } from './kernels/native.js';
export type { BackendKind, SelectOptions } from './kernels/select.js';
export { CoreError } from './errors.js';

export { train } from './train.js';
export type { TrainHooks, TrainOptions, TrainResult, BestCheckpointEvent, LatestStateEvent } from './train.js';
export type { InitialTensors } from './run-state.js';
export type { KeptCheckpoint } from './ranking.js';
export { validateConfig, metricNames } from './validate.js';
export { countParams } from './model.js';
export { defaultAlpha } from './activations.js';

export { checkpointBytes, loadCheckpoint, predict, CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint.js';
export type { Checkpoint, DeterministicMetrics } from './checkpoint.js';
export { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors.js';
export type { DecodedSafetensors, NamedTensor } from './safetensors.js';

export { splitHoldout, standardizationOf, standardize } from './data.js';
export type { Standardization } from './data.js';
export { taskOf, scorePredictions } from './metrics.js';
export { resolveMode } from './early-stopping.js';

export { memoryEstimate, resolvedBatchRows } from './memory.js';
export type { MemoryConfig, MemoryDataShape, MemoryEstimate, MemoryParts } from './memory.js';
