// Memory admission for one worker: a job starts only when its memory estimate and those of the jobs
// already running fit in WORKER_MEMORY_BYTES. Waiting jobs start in arrival order, so small jobs
// arriving later never overtake (and so never starve) a big one at the head of the line.

import type { TrainJobData } from '../src/queue/queue.js';

/** Charged for a job without an estimate (queued before estimates existed): a small model's share. */
export const DEFAULT_JOB_MEMORY_BYTES = 64 * 1024 * 1024;

export class JobTooBigError extends Error {
  override readonly name = 'JobTooBigError';
}

export interface MemoryAdmission {
  /**
   * Resolves with a release function once `bytes` fit beside the running jobs (and every earlier
   * waiter has started). Rejects at once with JobTooBigError when they can never fit, and with
   * the signal's reason when it aborts while waiting.
   */
  admit(bytes: number, signal?: AbortSignal): Promise<() => void>;
  /** A release function if `bytes` fit now with nobody waiting, else null (never waits). */
  tryAdmit(bytes: number): (() => void) | null;
  /** True when `bytes` would start now. */
  fits(bytes: number): boolean;
  /** Bytes held by running jobs. */
  readonly inUse: number;
  /** Jobs waiting for room. */
  readonly waiting: number;
}

export function jobMemoryBytes(data: TrainJobData): number {
  const bytes = data.memoryBytes;
  return typeof bytes === 'number' && Number.isFinite(bytes) && bytes > 0 ? bytes : DEFAULT_JOB_MEMORY_BYTES;
}

interface Waiter {
  bytes: number;
  admit(): void;
}

export function createMemoryAdmission(budgetBytes: number): MemoryAdmission {
  let inUse = 0;
  const line: Waiter[] = [];

  function startWhatFits(): void {
    for (let head = line[0]; head !== undefined && inUse + head.bytes <= budgetBytes; head = line[0]) {
      line.shift();
      inUse += head.bytes;
      head.admit();
    }
  }

  return {
    get inUse() {
      return inUse;
    },
    get waiting() {
      return line.length;
    },
    fits(bytes) {
      return line.length === 0 && inUse + bytes <= budgetBytes;
    },
    tryAdmit(bytes) {
      if (line.length > 0 || inUse + bytes > budgetBytes) return null;
      inUse += bytes;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inUse -= bytes;
        startWhatFits();
      };
    },
    admit(bytes, signal) {
      if (bytes > budgetBytes) {
        return Promise.reject(new JobTooBigError(`the job needs about ${mib(bytes)} of memory, more than this worker's WORKER_MEMORY_BYTES=${budgetBytes} (${mib(budgetBytes)})`));
      }
      if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
      return new Promise((resolve, reject) => {
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          inUse -= bytes;
          startWhatFits();
        };
        const onAbort = () => {
          const at = line.indexOf(waiter);
          if (at < 0) return;
          line.splice(at, 1);
          reject(signal?.reason as Error);
          // The head may have been the one blocking the rest.
          startWhatFits();
        };
        const waiter: Waiter = {
          bytes,
          admit() {
            signal?.removeEventListener('abort', onAbort);
            resolve(release);
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        line.push(waiter);
        startWhatFits();
      });
    },
  };
}

function mib(bytes: number): string {
  return `${Math.ceil(bytes / (1024 * 1024))} MiB`;
}
