// The IPC messages between a worker and the trainer process it forks for one job.

import type { EpochReport } from '../src/metrics/training-metrics.js';
import type { ProcessorResult, TrainerJob } from './processor.js';

export type ToTrainer =
  | { type: 'run'; job: TrainerJob }
  /** A spare, before its job: load these uploaded datasets (most recently used first) while they fit in maxBytes. */
  | { type: 'preload'; datasets: string[]; maxBytes: number }
  /** Stop at the next mini-batch: the worker is shutting down or lost the job's lock. */
  | { type: 'abort'; reason: string };

export type FromTrainer =
  /** Modules, Redis connections and kernels are ready: send the job. */
  | { type: 'ready' }
  /** An epoch was trained: the worker counts it in its metrics (trainers keep no counters). */
  | { type: 'epoch'; report: EpochReport }
  /** The uploaded datasets the job trains on are loaded (the worker keeps them as recently used). */
  | { type: 'loaded'; datasets: string[] }
  | { type: 'done'; result: ProcessorResult }
  /** The processor threw: `name` says what the worker does (workers/trainer-errors.ts; anything else is retried). */
  | { type: 'error'; name: string; message: string };
