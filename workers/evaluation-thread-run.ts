// An evaluation's thread (workers/evaluation-thread.ts): started with the task and a V8 heap cap,
// its outcome posted back; a thread that dies (past its heap cap, a crash) fails its evaluation alone.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import type { EvaluationOutcome, EvaluationTask } from './evaluation-task.js';

/**
 * A small young generation: an evaluation allocates almost nothing per chunk, and V8's default let
 * the thread's RSS grow 13–16 MiB more (Fashion-MNIST, 10,000 and 60,000 rows, measured).
 */
const YOUNG_GENERATION_MB = 4;

/** The compiled thread entry next to this file; from source (tests), the build's copy. */
function threadEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'evaluation-thread.js');
  const built = path.resolve(path.dirname(here), '../dist/workers/evaluation-thread.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (evaluation threads run compiled JS)`);
  return built;
}

/**
 * Runs the task in a new thread whose V8 heap is capped at `cap` MiB; a thread that dies (out of
 * memory past its cap, a crash) fails its evaluation alone.
 */
export function runInThread(task: EvaluationTask, cap: number | null, threads: Set<Thread>): Promise<EvaluationOutcome> {
  return new Promise((resolve) => {
    const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, ...(cap === null ? {} : { maxOldGenerationSizeMb: cap }) };
    const thread = new Thread(threadEntryPath(), { workerData: task, resourceLimits });
    threads.add(thread);
    let outcome: EvaluationOutcome | null = null;
    thread.once('message', (m: EvaluationOutcome) => (outcome = m));
    thread.once('error', (err: NodeJS.ErrnoException) => {
      const message =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `the evaluation ran out of memory: its thread reached ${cap === null ? "V8's default heap limit" : `its V8 heap limit of ${cap} MiB`} (its memory estimate was too low)`
          : `the evaluation thread failed: ${err.message}`;
      outcome ??= { ok: false, failure: { kind: 'internal', message } };
    });
    thread.once('exit', (code) => {
      threads.delete(thread);
      resolve(outcome ?? { ok: false, failure: { kind: 'internal', message: `the evaluation thread exited with code ${code}` } });
    });
  });
}
