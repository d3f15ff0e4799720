// The benchmark's service section: Fashion-MNIST through the real service (a private redis-server,
// the API and one worker process from dist/, over HTTP), measuring what a user waits for and gets:
// submit → first mini-batch and running → first mini-batch (cold: the worker's first job on the
// dataset; warm: the next ones), the trainer's peak RSS for MLP 784-256-128-10, and training
// samples/s and CPU time of the bench's MLP through the service against the core alone on the same
// inputs, at the same batch size and threads, in the same run.

import { fork, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TrainingTime } from '../workers/training-clock.js';
import { trainerExecArgv } from '../workers/trainer-process.js';
import type { CoreRunResult } from './core-child.js';
import { startStack, type Stack } from './loadtest-stack.js';
import { learningRateFor } from './mlp.js';
import { median, quantile } from './stats.js';

export interface ServiceLine {
  [key: string]: unknown;
}

interface LogLine {
  msg?: string;
  jobId?: string;
  time?: number;
  startMs?: number;
  loadMs?: number;
  startupMs?: number;
  peakRssMiB?: number;
  spare?: boolean;
  heapCapMiB?: number | null;
  trainMs?: number;
  trainCpuMs?: number;
  hooksMs?: number;
  hooksCpuMs?: number;
}

interface JobView {
  id: string;
  status: string;
  threads: number | null;
  backend: string | null;
  history: { status: string; at: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stack whose worker log lines are kept, with helpers to submit jobs and wait for log lines. */
async function serviceStack(env: Record<string, string>) {
  const lines: LogLine[] = [];
  // Waits on log lines are woken by the lines themselves, not by polling: a timer every few ms in
  // this process would take CPU from a job that trains on every core.
  const waiters = new Set<(l: LogLine) => void>();
  const stack: Stack = await startStack(1, 0, env, (line) => {
    if (!line.startsWith('{')) return;
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      return; // not a log line
    }
    lines.push(parsed);
    for (const wake of waiters) wake(parsed);
  });
  const http = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const res = await fetch(stack.baseUrl + url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${url}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const waitLog = (pred: (l: LogLine) => boolean, ms = 120_000): Promise<LogLine> => {
    const found = lines.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error('timed out waiting for a worker log line'));
      }, ms);
      const wake = (l: LogLine) => {
        if (!pred(l)) return;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(l);
      };
      waiters.add(wake);
    });
  };
  const waitDone = async (id: string): Promise<JobView> => {
    for (;;) {
      const job = await http<JobView>('GET', `/v1/jobs/${id}`);
      if (['completed', 'failed', 'cancelled'].includes(job.status)) {
        if (job.status !== 'completed') throw new Error(`job ${id} ended ${job.status}`);
        return job;
      }
      await sleep(100);
    }
  };
  return { stack, lines, http, waitLog, waitDone };
}

export async function uploadFashion(baseUrl: string, dir: string): Promise<string> {
  const form = new FormData();
  form.append('images', new Blob([readFileSync(join(dir, 'train-images-idx3-ubyte.gz'))]), 'train-images-idx3-ubyte.gz');
  form.append('labels', new Blob([readFileSync(join(dir, 'train-labels-idx1-ubyte.gz'))]), 'train-labels-idx1-ubyte.gz');
  const res = await fetch(`${baseUrl}/v1/datasets?name=fashion-train`, { method: 'POST', body: form });
  if (res.status !== 201) throw new Error(`upload: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** The bench's MLP (bench/mlp.ts) as a job spec: the same layers, init, optimizer and schedule. */
export function mlpSpec(dataset: string, hidden: number[], batchSize: number, epochs: number, validation: number | null) {
  const trainRows = validation === null ? 60_000 : 60_000 - Math.ceil(60_000 * validation);
  const steps = epochs * Math.ceil(trainRows / batchSize);
  return {
    dataset,
    validation: validation === null ? null : { fraction: validation },
    model: {
      layers: [
        ...hidden.map((units) => ({ type: 'dense', units, activation: 'relu', init: 'xavier_uniform' })),
        { type: 'dense', units: 10, init: 'xavier_uniform' },
      ],
    },
    loss: 'softmax_cross_entropy',
    optimizer: { type: 'sgd', momentum: 0.9, nesterov: false },
    learningRate: { schedule: 'cosine', initial: learningRateFor(batchSize), decaySteps: steps, alpha: 0 },
    batchSize,
    epochs,
    checkpoints: { keepBest: 1 },
    seed: 1,
  };
}

/** Drops a file from the page cache (fadvise DONTNEED through dd), so a load reads the disk. */
function dropFromPageCache(file: string): boolean {
  return spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0;
}

/**
 * Start-up and memory: jobs of MLP 784-256-128-10 at batch 1024 with 10% held out, one after the
 * other on one worker; the first is cold (the dataset file dropped from the page cache too), the
 * rest warm. Per job: submit → first mini-batch (the client's clock before POST to the trainer's
 * log line; same host), running → first mini-batch (the trainer's own measure), the trainer's
 * peak RSS.
 */
export async function startSection(fashionDir: string, jobs: number, emit: (r: ServiceLine) => void): Promise<void> {
  const s = await serviceStack({ WORKER_CONCURRENCY: '1' });
  try {
    const ds = await uploadFashion(s.stack.baseUrl, fashionDir);
    const cold = dropFromPageCache(join(s.stack.dataDir, 'datasets', `${ds}.bin`));
    for (let i = 0; i < jobs; i++) {
      const submittedAt = Date.now();
      const job = await s.http<JobView>('POST', '/v1/jobs', mlpSpec(ds, [256, 128], 1024, 1, 0.1));
      const first = await s.waitLog((l) => l.msg === 'first mini-batch' && l.jobId === job.id);
      const started = s.lines.find((l) => l.msg === 'trainer started' && l.jobId === job.id);
      const finished = await s.waitLog((l) => l.msg === 'trainer finished' && l.jobId === job.id);
      const done = await s.waitDone(job.id);
      // Warm means the worker holds the dataset: the next job waits until the spare trainer has loaded it.
      if (i + 1 < jobs) await s.waitLog((l) => l.msg === 'spare trainer preloaded datasets' && (l.time ?? 0) > finished.time!, 30_000).catch(() => undefined);
      emit({
        name: 'service-start',
        job: i + 1,
        dataset: i === 0 ? (cold ? 'cold (not in the worker, file not in the page cache)' : 'cold (not in the worker)') : 'warm',
        submitToFirstBatchMs: first.time! - submittedAt,
        runningToFirstBatchMs: first.startMs,
        loadMs: first.loadMs,
        trainerStartupMs: started?.startupMs ?? null,
        spareTrainer: started?.spare ?? false,
        peakRssMiB: finished.peakRssMiB,
        threads: done.threads,
        backend: done.backend,
      });
    }
  } finally {
    await s.stack.stop();
  }
}

/**
 * A side's samples/s: the median over its epochs but the first. The per-epoch rate climbs over the
 * first epochs on both sides (batch 128 on two threads here: about 250k, 340k, 330k, 360k, 370k,
 * 380k), so the first is left out, as bench/compare-builds.ts does.
 */
function steadyRate(rates: number[]): number {
  return median(rates.length > 1 ? rates.slice(1) : rates);
}

/** One side's run of a training in the throughput comparison. */
interface SideRun extends TrainingTime {
  /** Training samples/s, the median over the run's epochs but the first (steadyRate; training time only, as the metrics report). */
  samplesPerSec: number;
}

interface ServiceRun extends SideRun {
  jobId: string;
  heapCapMiB: number | null;
  threads: number | null;
  backend: string | null;
}

/** Submits `spec` and waits for its trainer to finish, on the worker's log rather than by polling the API (which would take CPU from the job). */
async function serviceRun(s: Awaited<ReturnType<typeof serviceStack>>, spec: ReturnType<typeof mlpSpec>): Promise<ServiceRun> {
  const job = await s.http<JobView>('POST', '/v1/jobs', spec);
  // A job that fails says so at once (waitDone then throws with its status) rather than timing out.
  await s.waitLog((l) => (l.msg === 'trainer finished' || l.msg === 'job failed') && l.jobId === job.id);
  const done = await s.waitDone(job.id);
  const started = s.lines.find((l) => l.msg === 'trainer started' && l.jobId === job.id);
  const ended = s.lines.find((l) => l.msg === 'training ended' && l.jobId === job.id);
  if (ended?.trainMs === undefined || ended.trainCpuMs === undefined || ended.hooksMs === undefined || ended.hooksCpuMs === undefined) {
    throw new Error(`job ${job.id}: no 'training ended' log line`);
  }
  const records = await s.http<{ items: { samplesPerSec: number }[] }>('GET', `/v1/jobs/${job.id}/metrics?limit=1000`);
  return {
    jobId: job.id,
    samplesPerSec: steadyRate(records.items.map((r) => r.samplesPerSec)),
    trainMs: ended.trainMs,
    trainCpuMs: ended.trainCpuMs,
    hooksMs: ended.hooksMs,
    hooksCpuMs: ended.hooksCpuMs,
    heapCapMiB: started?.heapCapMiB ?? null,
    threads: done.threads,
    backend: done.backend,
  };
}

/** The core alone on a finished job's inputs, in a process started as that job's trainer was (bench/core-child.ts). */
function coreRun(env: Record<string, string>, jobId: string, threads: number, heapCapMiB: number | null): Promise<SideRun> {
  const child = fork(join(dirname(fileURLToPath(import.meta.url)), 'core-child.js'), [jobId, String(threads)], {
    execArgv: trainerExecArgv(heapCapMiB),
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', ({ epochSamplesPerSec, trainMs, trainCpuMs, hooksMs, hooksCpuMs }: CoreRunResult) =>
      resolve({ samplesPerSec: steadyRate(epochSamplesPerSec), trainMs, trainCpuMs, hooksMs, hooksCpuMs }),
    );
    child.once('exit', (code) => reject(new Error(`core child exited (${code}) before reporting`)));
  });
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const loadRange = (load: number[]) => [Math.min(...load), Math.max(...load)].map((x) => Math.round(x * 10) / 10);
/** Median and interquartile range, rounded to 3 decimals. */
const spread = (values: number[]) => ({ median: round3(median(values)), iqr: [round3(quantile(values, 0.25)), round3(quantile(values, 0.75))] });

/**
 * Throughput through the service against the core, the bench's MLP 784-128-10 on the 60,000
 * training images without validation, same batch size and threads. Both sides are fresh processes
 * with a trainer's Node flags and environment, training the same job's inputs: the service side is
 * the job through the API, worker and trainer; the core side (bench/core-child.ts) trains that
 * job's stored dataset and TrainConfig with no hooks. `pairs` pairs, alternately service-first and
 * core-first, so drift on a shared machine hits both sides alike. Per pair: the ratio of training
 * samples/s (service ÷ core, each the median over its epochs but the first; the core's bench
 * figure is a median over 20 epochs), of CPU time per sample trained (core ÷ service, the
 * service's per-epoch hooks taken out: above 1 the service is faster, as for samples/s), and of
 * the whole train() call's CPU and wall time with the hooks. Reported: the median of each per-pair ratio and its interquartile
 * range, what the hooks took per epoch, and the load average seen before each pair.
 */
export async function throughputSection(
  fashionDir: string,
  batchSizes: number[],
  threadCounts: number[],
  epochs: number,
  pairs: number,
  emit: (r: ServiceLine) => void,
): Promise<void> {
  for (const threads of threadCounts) {
    // No spare trainer: its start-up would run beside the other side's training.
    const s = await serviceStack({ WORKER_CONCURRENCY: '1', TRAIN_THREADS: String(threads), SPARE_TRAINER: 'false' });
    try {
      const ds = await uploadFashion(s.stack.baseUrl, fashionDir);
      for (const batchSize of batchSizes) {
        const spec = mlpSpec(ds, [128], batchSize, epochs, null);
        const runs: { service: ServiceRun; core: SideRun }[] = [];
        const load: number[] = [];
        let previous: ServiceRun | null = null;
        for (let pair = 0; pair < pairs; pair++) {
          load.push(loadavg()[0]!);
          // A core-first pair trains the previous pair's job (same spec, so the same inputs).
          const coreFirst = previous !== null && pair % 2 === 1 ? await coreRun(s.stack.workerEnv, previous.jobId, threads, previous.heapCapMiB) : null;
          const service = await serviceRun(s, spec);
          const core = coreFirst ?? (await coreRun(s.stack.workerEnv, service.jobId, threads, service.heapCapMiB));
          runs.push({ service, core });
          previous = service;
        }
        const samples = epochs * 60_000;
        const last = runs[runs.length - 1]!.service;
        emit({
          name: 'service-throughput',
          batchSize,
          threads,
          jobThreads: last.threads,
          backend: last.backend,
          epochs,
          pairs,
          serviceSamplesPerSec: Math.round(median(runs.map((r) => r.service.samplesPerSec))),
          coreSamplesPerSec: Math.round(median(runs.map((r) => r.core.samplesPerSec))),
          ratio: spread(runs.map((r) => r.service.samplesPerSec / r.core.samplesPerSec)),
          // CPU per sample trained, the per-epoch hooks' time taken out of the service's: what samples/s measures, but far less moved by other load.
          serviceCpuMicrosPerSample: round3((median(runs.map((r) => r.service.trainCpuMs - r.service.hooksCpuMs)) * 1000) / samples),
          coreCpuMicrosPerSample: round3((median(runs.map((r) => r.core.trainCpuMs)) * 1000) / samples),
          cpuRatio: spread(runs.map((r) => r.core.trainCpuMs / (r.service.trainCpuMs - r.service.hooksCpuMs))),
          // The whole train() call, hooks included: what a job costs beyond the core.
          cpuRatioWithHooks: spread(runs.map((r) => r.core.trainCpuMs / r.service.trainCpuMs)),
          wallRatioWithHooks: spread(runs.map((r) => r.core.trainMs / r.service.trainMs)),
          hooksPerEpoch: {
            cpuMs: round3(median(runs.map((r) => r.service.hooksCpuMs / epochs))),
            wallMs: round3(median(runs.map((r) => r.service.hooksMs / epochs))),
          },
          loadAverage: loadRange(load),
        });
        // A control beside each thread count's first row: two threads are moved by other load more than one.
        if (batchSize === batchSizes[0]) emit(await controlRow(s.stack.workerEnv, last, batchSize, threads, pairs));
      }
    } finally {
      await s.stack.stop();
    }
  }
}

/**
 * The comparison's noise floor, measured beside it: the core side against itself, `pairs` pairs on
 * the same job's inputs. Its ratios would be 1 on a quiet machine; their spread here is what a
 * service row's spread can be without any difference between the sides.
 */
async function controlRow(env: Record<string, string>, job: ServiceRun, batchSize: number, threads: number, pairs: number): Promise<ServiceLine> {
  const runs: [SideRun, SideRun][] = [];
  const load: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    load.push(loadavg()[0]!);
    runs.push([await coreRun(env, job.jobId, threads, job.heapCapMiB), await coreRun(env, job.jobId, threads, job.heapCapMiB)]);
  }
  return {
    name: 'service-throughput-control',
    batchSize,
    threads,
    pairs,
    ratio: spread(runs.map(([a, b]) => a.samplesPerSec / b.samplesPerSec)),
    cpuRatio: spread(runs.map(([a, b]) => b.trainCpuMs / a.trainCpuMs)),
    loadAverage: loadRange(load),
  };
}
