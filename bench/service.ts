// The benchmark's service section: Fashion-MNIST through the real service (a private redis-server,
// the API and one worker process from dist/, over HTTP), measuring what a user waits for and gets:
// submit → first mini-batch and running → first mini-batch (cold: the worker's first job on the
// dataset; warm: the next ones), the trainer's peak RSS for MLP 784-256-128-10, and training
// samples/s of the bench's MLP against the core's own figure at the same batch size and threads,
// in the same run.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Kernels } from '../src/core/kernels/kernels.js';
import type { Dataset } from '../src/core/types.js';
import { startStack, type Stack } from './loadtest-stack.js';
import { learningRateFor, trainMlp } from './mlp.js';

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
}

interface JobView {
  id: string;
  status: string;
  threads: number | null;
  backend: string | null;
  history: { status: string; at: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Core and service runs per batch size and thread count in the throughput comparison. */
const ROUNDS = 3;

/** A stack whose worker log lines are kept, with helpers to submit jobs and wait for log lines. */
async function serviceStack(env: Record<string, string>) {
  const lines: LogLine[] = [];
  const stack: Stack = await startStack(1, 0, env, (line) => {
    if (!line.startsWith('{')) return;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // not a log line
    }
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
  const waitLog = async (pred: (l: LogLine) => boolean, ms = 120_000): Promise<LogLine> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = lines.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error('timed out waiting for a worker log line');
      await sleep(20);
    }
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

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
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
 * Throughput through the service against the core in this process, the bench's MLP 784-128-10
 * on the 60,000 training images without validation: median samples/s over epochs from the job's
 * metrics records (training time only, as the core's figure), same batch size and threads.
 */
export async function throughputSection(
  fashionDir: string,
  train: Dataset,
  kernelsFor: (threads: number) => Kernels,
  batchSizes: number[],
  threadCounts: number[],
  epochs: number,
  emit: (r: ServiceLine) => void,
): Promise<void> {
  for (const threads of threadCounts) {
    // No spare trainer here: its start-up would run beside the core's rounds.
    const s = await serviceStack({ WORKER_CONCURRENCY: '1', TRAIN_THREADS: String(threads), SPARE_TRAINER: 'false' });
    try {
      const ds = await uploadFashion(s.stack.baseUrl, fashionDir);
      for (const batchSize of batchSizes) {
        // Core and service in turn, ROUNDS times, so that drift on a shared machine hits both; each
        // side's figure is the median over all its epochs, the spread the range of its round medians.
        const k = kernelsFor(threads);
        const coreRounds: number[] = [];
        const serviceRounds: number[] = [];
        const coreEpochs: number[] = [];
        const serviceEpochs: number[] = [];
        let jobThreads: number | null = null;
        let backend: string | null = null;
        for (let round = 0; round < ROUNDS; round++) {
          const rates: number[] = [];
          await trainMlp({ hidden: [128], batchSize, epochs, learningRate: learningRateFor(batchSize), seed: 1 }, { train, test: null }, k, (m) => rates.push(m.samplesPerSec));
          coreRounds.push(median(rates));
          coreEpochs.push(...rates);
          const job = await s.http<JobView>('POST', '/v1/jobs', mlpSpec(ds, [128], batchSize, epochs, null));
          const done = await s.waitDone(job.id);
          jobThreads = done.threads;
          backend = done.backend;
          const records = await s.http<{ items: { samplesPerSec: number }[] }>('GET', `/v1/jobs/${job.id}/metrics?limit=1000`);
          const served = records.items.map((r) => r.samplesPerSec);
          serviceRounds.push(median(served));
          serviceEpochs.push(...served);
        }
        const service = median(serviceEpochs);
        const core = median(coreEpochs);
        const range = (v: number[]) => [Math.round(Math.min(...v)), Math.round(Math.max(...v))];
        emit({
          name: 'service-throughput',
          batchSize,
          threads,
          jobThreads,
          backend,
          serviceSamplesPerSec: Math.round(service),
          coreSamplesPerSec: Math.round(core),
          serviceRoundMedians: range(serviceRounds),
          coreRoundMedians: range(coreRounds),
          ratio: Math.round((service / core) * 1000) / 1000,
          epochs,
          rounds: ROUNDS,
        });
      }
    } finally {
      await s.stack.stop();
    }
  }
}
