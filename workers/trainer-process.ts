// The worker's side of a trainer process: forks workers/trainer-main.js for one job with a V8 heap
// cap from the job's memory estimate, hands it the job once it is ready, passes aborts on, and
// reports how it ended: its outcome, or how it died (the exit code or signal, and what V8 said).

import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { EpochReport } from '../src/metrics/training-metrics.js';
import type { ProcessorResult, TrainerJob } from './processor.js';
import { describeTrainerDeath } from './trainer-death.js';
import type { FromTrainer, ToTrainer } from './trainer-messages.js';

const MIB = 1024 * 1024;
/** Heap above the estimate: the estimate counts buffers (outside V8's heap), this covers JS objects. */
const HEAP_HEADROOM_MIB = 256;
/** How much of a dying trainer's stderr is kept to tell out-of-memory from other crashes. */
const STDERR_TAIL_CHARS = 8192;

export type TrainerOutcome =
  | { kind: 'done'; result: ProcessorResult }
  | { kind: 'error'; name: string; message: string }
  | { kind: 'died'; why: string };

export interface TrainerRun {
  job: TrainerJob;
  signal: AbortSignal | undefined;
  logger: Logger;
  /** Each epoch the trainer reports (for the worker's metrics). */
  onEpoch?: (report: EpochReport) => void;
}

/** The compiled entry next to this file; from source (tests, tsx), the build's copy. */
export function trainerEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'trainer-main.js');
  const built = path.resolve(path.dirname(here), '../dist/workers/trainer-main.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (trainers run compiled JS)`);
  return built;
}

/** --max-old-space-size for a job: its estimate plus headroom, or V8's default without one. */
export function heapCapMiB(memoryBytes: number | undefined): number | null {
  if (memoryBytes === undefined || !Number.isFinite(memoryBytes) || memoryBytes <= 0) return null;
  return Math.ceil(memoryBytes / MIB) + HEAP_HEADROOM_MIB;
}

export function runTrainer(run: TrainerRun): Promise<TrainerOutcome> {
  const jobId = run.job.data.jobId;
  const cap = heapCapMiB(run.job.data.memoryBytes);
  const forkedAt = performance.now();
  const child = fork(trainerEntryPath(), [], {
    // Not the worker's own flags (a test runner's loaders): only the heap cap.
    execArgv: cap !== null ? [`--max-old-space-size=${cap}`] : [],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    process.stderr.write(chunk);
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });

  const send = (message: ToTrainer) => {
    if (child.connected) child.send(message, () => undefined);
  };
  const onAbort = () => send({ type: 'abort', reason: String(run.signal?.reason ?? 'aborted') });

  return new Promise((resolve) => {
    let outcome: TrainerOutcome | null = null;
    const finish = (final: TrainerOutcome) => {
      run.signal?.removeEventListener('abort', onAbort);
      resolve(final);
    };
    child.on('message', (message: FromTrainer) => {
      if (message.type === 'ready') {
        run.logger.info({ jobId, trainerPid: child.pid, startupMs: Math.round(performance.now() - forkedAt), heapCapMiB: cap }, 'trainer started');
        send({ type: 'run', job: run.job });
        run.signal?.addEventListener('abort', onAbort, { once: true });
        if (run.signal?.aborted === true) onAbort();
      } else if (message.type === 'epoch') {
        run.onEpoch?.(message.report);
      } else if (message.type === 'done') {
        outcome = { kind: 'done', result: message.result };
      } else {
        outcome = { kind: 'error', name: message.name, message: message.message };
      }
    });
    // Could not start at all (no memory for a process, too many processes): a retryable error.
    child.on('error', (err) => {
      outcome ??= { kind: 'error', name: 'Error', message: `could not start a trainer: ${err.message}` };
      if (child.pid === undefined) finish(outcome);
    });
    // 'close', not 'exit': stderr is read to the end by then.
    child.on('close', (code, signal) => {
      finish(outcome ?? { kind: 'died', why: describeTrainerDeath({ code, signal, stderr, heapCapMiB: cap }) });
    });
  });
}
