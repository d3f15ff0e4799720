// The numeric core's pure entry: layers, losses, optimizers, schedules, the training loop,
// checkpoints and the TypeScript kernels. It imports no runtime module and touches no I/O, so it
// runs unchanged in a browser or any JS runtime; `node.ts` adds the native and WebAssembly backends.

export type * from './types.js';
export type { Kernels, Gemm, GemmArgs } from './kernels/kernels.js';
export { jsKernels } from './kernels/js.js';
export { CoreError } from './errors.js';

export { train } from './train.js';
export type { TrainHooks, TrainOptions, TrainResult, BestCheckpointEvent, LatestStateEvent } from './train.js';
export type { StepProgress } from './progress.js';
export { copiesViews } from './run-state.js';
export { resumeStateSummary } from './resume.js';
export type { ResumeSummary } from './resume.js';
export type { InitialTensors } from './run-state.js';
export type { KeptCheckpoint } from './ranking.js';
export { yieldMacrotask, type YieldToCaller } from './pacing.js';
export { validateConfig, metricNames } from './validate.js';
export { countParams } from './model.js';
export { defaultAlpha } from './activations.js';

export { checkpointBytes, loadCheckpoint, predict, CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint.js';
export { evaluateCheckpoint } from './evaluate-checkpoint.js';
export type { ClassReport, Evaluation } from './evaluate-checkpoint.js';
export type { Checkpoint, DeterministicMetrics } from './checkpoint.js';
export { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors.js';
export type { DecodedSafetensors, NamedTensor } from './safetensors.js';

export { holdoutViews, splitHoldout, standardizationOf, standardize } from './data.js';
export type { Standardization } from './data.js';
export { taskOf, scorePredictions } from './metrics.js';
export { resolveMode } from './early-stopping.js';

export { memoryEstimate, resolvedBatchRows } from './memory.js';
export type { MemoryConfig, MemoryDataShape, MemoryEstimate, MemoryParts } from './memory.js';
