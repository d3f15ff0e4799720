// Trainer process entry: forked by the worker (workers/trainer-process.ts) for one job, which it
// trains with workers/processor.ts, talking to Redis itself; it reports the outcome over IPC and
// exits. Forked ahead of its job (a spare), it may preload datasets while it waits. Its own process, so that running out of memory or crashing ends this job alone.
// It never outlives its worker: when the IPC channel closes it exits at once, writing nothing
// more (a forked child otherwise trains on as an orphan, bullmq#2178).

import { writeFileSync } from 'node:fs';
import type { EpochReport } from '../src/metrics/training-metrics.js';
import { trainingKernels } from './backend.js';
import { trainerContext } from './context.js';
import { preloadDatasets } from './preload.js';
import processTrainJob from './processor.js';
import type { FromTrainer, ToTrainer } from './trainer-messages.js';
import { warmUpTraining } from './warm-up.js';

process.on('disconnect', () => process.exit(1));
// The worker may have died while this module's imports loaded, before there was a listener (a
// spare is forked as a job ends, so a worker stopped then leaves one mid-start-up).
if (!process.connected) process.exit(1);
// A terminal's Ctrl-C or a group-wide SIGTERM reaches this process too: the worker decides, and
// passes a shutdown on as an 'abort' so the job is handed back rather than lost.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// When the host runs out of memory, the kernel should kill a trainer (one job) rather than the
// worker or the API. Raising one's own score needs no privilege.
try {
  writeFileSync('/proc/self/oom_score_adj', '1000');
} catch {
  // Not Linux, or /proc not mounted: the job is still isolated, just not the preferred victim.
}

function send(message: FromTrainer, then?: () => void): void {
  if (!process.connected) process.exit(1);
  process.send?.(message, (err: Error | null) => {
    if (err) process.exit(1);
    then?.();
  });
}

const controller = new AbortController();
let started = false;

process.on('message', (message: ToTrainer) => {
  if (message.type === 'abort') {
    controller.abort(message.reason);
    return;
  }
  if (message.type === 'preload') {
    // A spare waiting for its job: warm up, then load what the worker's recent jobs used, if the
    // worker sent any (a failure only means a cold start).
    if (started) return;
    void trainerContext()
      .then(async (ctx) => {
        // First compile the training code a job runs (workers/warm-up.ts): it takes tens of ms where
        // loading takes hundreds, so a job that comes as soon as its dataset is here finds it done.
        const warmAt = performance.now();
        const outcome = await warmUpTraining(trainingKernels(), () => started);
        ctx.logger.info({ ok: outcome !== 'failed', outcome, ms: Math.round(performance.now() - warmAt) }, 'spare trainer warmed up');
        if (started) return;
        const at = performance.now();
        const loaded = await preloadDatasets(ctx.store, message.datasets, message.maxBytes);
        ctx.logger.info({ ...loaded, ms: Math.round(performance.now() - at) }, 'spare trainer preloaded datasets');
      })
      .catch(() => undefined);
    return;
  }
  if (started) return;
  started = true;
  const reportEpoch = (report: EpochReport) => send({ type: 'epoch', report });
  const reportLoaded = (datasets: string[]) => send({ type: 'loaded', datasets });
  processTrainJob(message.job, controller.signal, reportEpoch, reportLoaded).then(
    async (result) => {
      // What the job cost this process at its peak (the job's data, buffers and the process itself).
      const { logger } = await trainerContext();
      logger.info({ jobId: message.job.data.jobId, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }, 'trainer finished');
      send({ type: 'done', result }, () => process.exit(0));
    },
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      send({ type: 'error', name: e.name, message: e.message }, () => process.exit(0));
    },
  );
});

await trainerContext();
trainingKernels();
send({ type: 'ready' });
