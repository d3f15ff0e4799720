// The worker's side of a trainer process: forks workers/trainer-main.js with a V8 heap cap from a
// job's memory estimate, hands it the job once it is ready, passes aborts on, and reports how it
// ended: its outcome, or how it died (the exit code or signal, and what V8 said). A trainer can be
// forked ahead of its job (a spare, workers/spare-trainer.ts): it is then ready when the job comes,
// and may have loaded the datasets the worker's recent jobs used.

import { fork, type ChildProcess } from 'node:child_process';
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
/** Caps are rounded up to this, so jobs of about the same size can take the same pre-started trainer. */
const HEAP_CAP_STEP_MIB = 128;
/** V8's young-generation semi-space size for trainers, in MiB. */
const SEMI_SPACE_MIB = 2;
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
  /** The uploaded datasets the job loaded (for the worker's recently-used list). */
  onLoaded?: (datasetIds: string[]) => void;
}

/** A forked trainer process, before or while it runs a job. */
export interface Trainer {
  readonly child: ChildProcess;
  /** Its --max-old-space-size, or null for V8's default. */
  readonly cap: number | null;
  /** Resolves true once the trainer is ready for a job, false if it ended before. */
  readonly ready: Promise<boolean>;
  /** Milliseconds from fork to ready, once ready. */
  readonly startupMs: number | null;
  /** True once the process has ended. */
  readonly ended: boolean;
  /** Resolves with the exit code and signal (stderr read to the end) once the process has ended. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrTail(): string;
  send(message: ToTrainer): void;
}

/** The compiled entry next to this file; from source (tests, tsx), the build's copy. */
export function trainerEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'trainer-main.js');
  const built = path.resolve(path.dirname(here), '../dist/workers/trainer-main.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (trainers run compiled JS)`);
  return built;
}

/** --max-old-space-size for a job: its estimate plus headroom, rounded up to 128 MiB, or V8's default without one. */
export function heapCapMiB(memoryBytes: number | undefined): number | null {
  if (memoryBytes === undefined || !Number.isFinite(memoryBytes) || memoryBytes <= 0) return null;
  return Math.ceil((Math.ceil(memoryBytes / MIB) + HEAP_HEADROOM_MIB) / HEAP_CAP_STEP_MIB) * HEAP_CAP_STEP_MIB;
}

/**
 * A trainer's Node flags. Not the worker's own (a test runner's loaders): the heap cap, and a small
 * young generation: training allocates nothing per mini-batch, and V8's larger default semi-spaces
 * were 10–18 MiB of a Fashion-MNIST trainer's peak RSS (153–161 MiB → 140–143 MiB).
 */
export function trainerExecArgv(cap: number | null): string[] {
  return [...(cap !== null ? [`--max-old-space-size=${cap}`] : []), `--max-semi-space-size=${SEMI_SPACE_MIB}`];
}

export function startTrainer(cap: number | null): Trainer {
  const forkedAt = performance.now();
  const child = fork(trainerEntryPath(), [], {
    execArgv: trainerExecArgv(cap),
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    process.stderr.write(chunk);
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  let startupMs: number | null = null;
  let ended = false;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': stderr is read to the end by then.
    child.on('close', (code, signal) => {
      ended = true;
      resolve({ code, signal });
    });
    // Could not start at all (no memory for a process, too many processes): no 'close' follows.
    child.on('error', () => {
      if (child.pid === undefined) {
        ended = true;
        resolve({ code: null, signal: null });
      }
    });
  });
  const ready = new Promise<boolean>((resolve) => {
    const onMessage = (message: FromTrainer) => {
      if (message.type !== 'ready') return;
      startupMs = Math.round(performance.now() - forkedAt);
      child.off('message', onMessage);
      resolve(true);
    };
    child.on('message', onMessage);
    void closed.then(() => resolve(false));
  });
  return {
    child,
    cap,
    ready,
    closed,
    get startupMs() {
      return startupMs;
    },
    get ended() {
      return ended;
    },
    stderrTail: () => stderr,
    send(message) {
      if (child.connected) child.send(message, () => undefined);
    },
  };
}

/**
 * Runs one job in `trainer` (a ready spare) or in a trainer forked for it. A spare that ended
 * before it got the job is replaced by a fresh one: its death is not the job's.
 */
export async function runTrainer(run: TrainerRun, spare: Trainer | null = null): Promise<TrainerOutcome> {
  const jobId = run.job.data.jobId;
  let trainer = spare;
  if (trainer === null || trainer.ended || !(await trainer.ready)) trainer = startTrainer(heapCapMiB(run.job.data.memoryBytes));
  const t = trainer;
  const fromSpare = t === spare;
  const onAbort = () => t.send({ type: 'abort', reason: String(run.signal?.reason ?? 'aborted') });

  let outcome: TrainerOutcome | null = null;
  t.child.on('message', (message: FromTrainer) => {
    if (message.type === 'epoch') run.onEpoch?.(message.report);
    else if (message.type === 'loaded') run.onLoaded?.(message.datasets);
    else if (message.type === 'done') outcome = { kind: 'done', result: message.result };
    else if (message.type === 'error') outcome = { kind: 'error', name: message.name, message: message.message };
  });
  t.child.on('error', (err) => {
    outcome ??= { kind: 'error', name: 'Error', message: `could not start a trainer: ${err.message}` };
  });
  if (await t.ready) {
    run.logger.info({ jobId, trainerPid: t.child.pid, startupMs: fromSpare ? 0 : t.startupMs, spare: fromSpare, heapCapMiB: t.cap }, 'trainer started');
    t.send({ type: 'run', job: run.job });
    run.signal?.addEventListener('abort', onAbort, { once: true });
    if (run.signal?.aborted === true) onAbort();
  }
  const { code, signal } = await t.closed;
  run.signal?.removeEventListener('abort', onAbort);
  return outcome ?? { kind: 'died', why: describeTrainerDeath({ code, signal, stderr: t.stderrTail(), heapCapMiB: t.cap }) };
}
