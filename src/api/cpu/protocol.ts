// The messages between the API's event loop and its CPU threads (cpu-pool.ts, thread.ts): the
// tasks, their results, and errors as plain data that survive postMessage and become the same
// ApiError / DataError / CheckpointCorruptError on the API side.
import type { DataErrorCode } from '../../data/index.js';
import type { ErrorCode, ErrorDetails } from '../errors.js';

/** Parse an uploaded body (already in the store) and store the dataset object. */
export interface UploadTask {
  kind: 'upload';
  format: 'csv' | 'json' | 'ndjson' | 'idx';
  /** The raw bodies' storage keys: `file` for CSV/JSON, `images` + `labels` for IDX. */
  keys: { file?: string; images?: string; labels?: string };
  label?: string | string[];
  task?: 'classification' | 'regression';
  limits: { maxRows: number; maxFeatures: number; maxBytes: number };
  /** The dataset object's storage key (written atomically). */
  outKey: string;
  /** Where the targets wait while the features are written (beside the raw bodies, removed with them). */
  scratchKey: string;
}

export interface UploadResult {
  rows: number;
  features: number;
  classes: number | null;
  task: 'classification' | 'regression';
  targetWidth: number;
  /** Bytes per stored feature: 1 for IDX pixels, 4 for float32. */
  featureBytes: number;
  /** Bytes of the dataset file. */
  size: number;
}

/** How a predict body holds its rows: JSON {"inputs"}, little-endian float32 rows, or an IDX images file (gzipped or not). */
export type PredictFormat = 'json' | 'f32' | 'idx';

/** A predict request's body: spooled to a file, or (small ones) its bytes, copied with the task. */
export type PredictBody = { path: string } | { bytes: Uint8Array };

/** Predict from a job's best checkpoint with a body that has arrived whole. */
export interface PredictTask {
  kind: 'predict';
  jobId: string;
  checkpoint: { key: string; epoch: number; size: number; sha256: string };
  body: PredictBody;
  format: PredictFormat;
  maxRows: number;
  maxCost: number;
  /** MAX_UNCOMPRESSED_BYTES: what a gzipped IDX body may inflate to. */
  maxUncompressed: number;
}

/** The response body, UTF-8 JSON, in a buffer transferred back (not copied). */
export interface PredictResult {
  body: Uint8Array;
}

/** Export a verified checkpoint (any kept epoch) as an ONNX model. */
export interface OnnxTask {
  kind: 'onnx';
  jobId: string;
  checkpoint: { key: string; epoch: number; size: number; sha256: string };
}

/** The ONNX model's bytes, in a buffer transferred back (not copied). */
export interface OnnxResult {
  body: Uint8Array;
}

export type CpuTask = UploadTask | PredictTask | OnnxTask;
export type CpuResult = UploadResult | PredictResult | OnnxResult;

export type TaskError =
  | { kind: 'api'; code: ErrorCode; message: string; details: ErrorDetails }
  | { kind: 'data'; code: DataErrorCode; path: string; message: string }
  | { kind: 'corrupt'; jobId: string; epoch: number; reason: string }
  /** DATA_DIR is full (ENOSPC, EDQUOT): the API answers 507. */
  | { kind: 'storage_full'; code: string; file: string; bytes: number }
  /** The object storage failed or was too slow past its retries: the API answers 503. */
  | { kind: 'storage_unavailable'; operation: string; reason: string }
  /** The checkpoint file is gone: evicted meanwhile, or lost (the API side asks the index). */
  | { kind: 'checkpoint_missing' }
  /** A buffer the task needed could not be allocated: the API answers 503 insufficient_memory. */
  | { kind: 'out_of_memory'; message: string }
  | { kind: 'internal'; message: string; stack?: string };

export type ThreadRequest = { id: number; task: CpuTask };
export type ThreadReply = { id: number; ok: true; result: CpuResult } | { id: number; ok: false; error: TaskError };

/** The checkpoint object is not there: evicted meanwhile or lost; the API side asks the index which. */
export class CheckpointMissing extends Error {
  override readonly name = 'CheckpointMissing';
}
