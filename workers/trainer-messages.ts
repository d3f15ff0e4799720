// The IPC messages between a worker and the trainer process it forks for one job.

import type { ProcessorResult, TrainerJob } from './processor.js';

export type ToTrainer =
  | { type: 'run'; job: TrainerJob; token: string | undefined }
  /** Stop at the next mini-batch: the worker is shutting down or lost the job's lock. */
  | { type: 'abort'; reason: string };

export type FromTrainer =
  /** Modules, Redis connections and kernels are ready: send the job. */
  | { type: 'ready' }
  | { type: 'done'; result: ProcessorResult }
  /** The processor threw: `name` says how BullMQ should treat it (UnrecoverableError, WaitingError, …). */
  | { type: 'error'; name: string; message: string };
