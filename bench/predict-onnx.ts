// Predict against ONNX Runtime (issue #13, goal 5): the bench's Fashion-MNIST MLPs (784-128-10 and
// 784-256-128-10) trained for one epoch through a real API process (a private redis-server, the API
// and a worker from dist/), their best checkpoint downloaded as safetensors and as ONNX (the API's
// exporter), then Fashion-MNIST's test images through
// - the core: loadCheckpoint + predict in this process (the API's own path, minus HTTP);
// - onnxruntime-node on the exported model: CPU, intra-op threads = ours, one inter-op thread,
//   graph optimization level 'all', sequential execution, fetching the probabilities;
// - the HTTP route (POST /v1/jobs/:id/predict, JSON rows and little-endian float32), one client.
// Batch 1 is latency per call (median, p90); batches 64 and 1024 are rows/s per round of calls. The
// two in-process sides alternate in rounds of about equal length (who goes first alternates too),
// so a busy machine slows both alike; each figure's spread is over those rounds. On one thread the
// ratio is also given in CPU time (this process's, per row, per round): on a shared machine that
// is far steadier than wall time, which counts waiting for a core. Outputs are checked to agree
// over all 10,000 images (max abs difference, labels), the route's exactly with the core's.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { loadCheckpoint, predict, selectKernels, type Checkpoint } from '../src/core/node.js';
import { startStack, type Stack } from './loadtest-stack.js';
import { mlpSpec, uploadFashion } from './service.js';

type OrtModule = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

export const NETWORKS: readonly number[][] = [[128], [256, 128]];
export const PREDICT_BATCHES = [1, 64, 1024] as const;

export interface Spread {
  median: number;
  p10: number;
  p90: number;
}

/** One side at one batch size: latency in µs at batch 1, else rows/s; spread over calls (batch 1) or rounds. */
export interface SideFigure {
  microsPerCall?: Spread;
  rowsPerSec?: Spread;
}

export type PredictOnnxLine =
  | { name: 'predict-agreement'; network: string; rows: number; maxAbsDiff: number; labelsAgree: number; httpEqualsCore: boolean }
  | {
      name: 'predict-vs-onnxruntime';
      network: string;
      threads: number;
      batch: number;
      core: SideFigure;
      onnxruntime: SideFigure;
      /** Per round: ONNX Runtime's median call time ÷ ours (above 1: ours faster). */
      ratio: Spread;
      /** Per round: ONNX Runtime's CPU time ÷ ours, for the same rows (one thread only; null on more). */
      cpuRatio: Spread | null;
      loadAverage: number;
    }
  | { name: 'predict-http'; network: string; format: 'json' | 'float32'; batch: number; http: SideFigure; ratioToCore: number; loadAverage: number };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))]!;
}

function spreadOf(values: number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return { median: percentile(s, 0.5), p10: percentile(s, 0.1), p90: percentile(s, 0.9) };
}

/** Fashion-MNIST's test images as float32 rows (byte / 255, as training and IDX predict read them). */
function testImages(dir: string): { x: Float32Array; n: number; width: number } {
  const raw = gunzipSync(readFileSync(join(dir, 't10k-images-idx3-ubyte.gz')));
  const n = raw.readUInt32BE(4);
  const width = raw.readUInt32BE(8) * raw.readUInt32BE(12);
  return { x: Float32Array.from(raw.subarray(16, 16 + n * width), (b) => b / 255), n, width };
}

async function trainedJob(stack: Stack, dataset: string, hidden: number[]): Promise<{ jobId: string; safetensors: Uint8Array; onnx: Uint8Array }> {
  const submitted = await fetch(`${stack.baseUrl}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(mlpSpec(dataset, hidden, 128, 1, null)),
  });
  const jobId = ((await submitted.json()) as { id: string }).id;
  for (;;) {
    const job = (await (await fetch(`${stack.baseUrl}/v1/jobs/${jobId}`)).json()) as { status: string };
    if (job.status === 'completed') break;
    if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`predict-onnx bench: training ended ${job.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const download = async (query: string) => {
    const res = await fetch(`${stack.baseUrl}/v1/jobs/${jobId}/checkpoints/best${query}`);
    if (res.status !== 200) throw new Error(`predict-onnx bench: download${query} answered ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  return { jobId, safetensors: await download(''), onnx: await download('?format=onnx') };
}

/** A way to run one batch: the rows' probabilities, row-major. */
type Runner = (x: Float32Array, rows: number) => Promise<Float32Array>;

function coreRunner(ckpt: Checkpoint): Runner {
  return (x, rows) => Promise.resolve(predict(ckpt, x, rows).outputs);
}

function ortRunner(ort: OrtModule, session: Session, width: number): Runner {
  return async (x, rows) => {
    const out = await session.run({ input: new ort.Tensor('float32', x, [rows, width]) }, ['probabilities']);
    return out.probabilities!.data as Float32Array;
  };
}

interface Round {
  /** Wall seconds of each call. */
  calls: number[];
  /** This process's CPU seconds (user + system) per call over the round. */
  cpuPerCall: number;
}

/**
 * Calls `run` on consecutive batches of the test rows (wrapping around) until `seconds` pass. The
 * first call of a round is not timed (caches, a woken thread pool).
 */
async function round(run: Runner, images: { x: Float32Array; n: number; width: number }, batch: number, seconds: number, start: number): Promise<Round> {
  const times: number[] = [];
  const { x, n, width } = images;
  let row = start % (n - batch + 1);
  const next = () => {
    const slice = x.subarray(row * width, (row + batch) * width);
    row = row + 2 * batch > n ? 0 : row + batch;
    return slice;
  };
  await run(next(), batch);
  const cpu0 = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  do {
    const slice = next();
    const t0 = performance.now();
    await run(slice, batch);
    times.push((performance.now() - t0) / 1000);
  } while (performance.now() < until);
  const cpu = process.cpuUsage(cpu0);
  return { calls: times, cpuPerCall: (cpu.user + cpu.system) / 1e6 / times.length };
}

function figureOf(batch: number, rounds: Round[]): SideFigure {
  if (batch === 1) return { microsPerCall: spreadOf(rounds.flatMap((r) => r.calls).map((s) => s * 1e6)) };
  return { rowsPerSec: spreadOf(rounds.map((r) => (batch * r.calls.length) / r.calls.reduce((a, b) => a + b, 0))) };
}

/** Speed of ours over theirs per round (their time ÷ ours), from each round's median call. */
function pairRatios(ours: Round[], theirs: Round[]): Spread {
  const med = (r: Round) => spreadOf(r.calls).median;
  return spreadOf(ours.map((r, i) => med(theirs[i]!) / med(r)));
}

function cpuRatios(ours: Round[], theirs: Round[]): Spread {
  return spreadOf(ours.map((r, i) => theirs[i]!.cpuPerCall / r.cpuPerCall));
}

async function compare(a: Runner, b: Runner, images: { x: Float32Array; n: number; width: number }, batch: number, rounds: number, seconds: number) {
  const ours: Round[] = [];
  const theirs: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = r * 997;
    if (r % 2 === 0) {
      ours.push(await round(a, images, batch, seconds, start));
      theirs.push(await round(b, images, batch, seconds, start));
    } else {
      theirs.push(await round(b, images, batch, seconds, start));
      ours.push(await round(a, images, batch, seconds, start));
    }
  }
  return { core: figureOf(batch, ours), onnxruntime: figureOf(batch, theirs), ratio: pairRatios(ours, theirs), cpuRatio: cpuRatios(ours, theirs) };
}

function httpRunner(baseUrl: string, jobId: string, format: 'json' | 'float32', width: number): Runner {
  return async (x, rows) => {
    let body: string | Uint8Array;
    if (format === 'json') {
      const inputs: number[][] = [];
      for (let r = 0; r < rows; r++) inputs.push(Array.from(x.subarray(r * width, (r + 1) * width)));
      body = JSON.stringify({ inputs });
    } else {
      body = new Uint8Array(x.buffer, x.byteOffset, rows * width * 4);
    }
    const res = await fetch(`${baseUrl}/v1/jobs/${jobId}/predict`, {
      method: 'POST',
      headers: { 'content-type': format === 'json' ? 'application/json' : 'application/octet-stream' },
      body,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`predict-onnx bench: ${format} predict answered ${res.status} ${text.slice(0, 200)}`);
    const outputs = (JSON.parse(text) as { outputs: { probabilities: number[] }[] }).outputs;
    return Float32Array.from(outputs.flatMap((o) => o.probabilities));
  };
}

/** Largest |a − b| and how many rows' argmax agree. */
function agreement(a: Float32Array, b: Float32Array, width: number): { maxAbsDiff: number; labelsAgree: number } {
  let maxAbsDiff = 0;
  let labelsAgree = 0;
  const argmax = (v: Float32Array, r: number) => {
    let best = 0;
    for (let k = 1; k < width; k++) if (v[r * width + k]! > v[r * width + best]!) best = k;
    return best;
  };
  for (let i = 0; i < a.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i]! - b[i]!));
  for (let r = 0; r < a.length / width; r++) if (argmax(a, r) === argmax(b, r)) labelsAgree++;
  return { maxAbsDiff, labelsAgree };
}

/** Each batch of `rows` through `run`, the outputs concatenated. */
async function runAll(run: Runner, x: Float32Array, n: number, width: number, rows: number): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += rows) {
    const count = Math.min(rows, n - start);
    parts.push(await run(x.subarray(start * width, (start + count) * width), count));
  }
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface PredictOnnxOptions {
  threads: number[];
  /** Alternating rounds per comparison, and seconds per round and side. */
  rounds: number;
  seconds: number;
  note: (message: string) => void;
}

export async function predictOnnxSection(fashionDir: string, o: PredictOnnxOptions, emit: (line: PredictOnnxLine) => void): Promise<void> {
  let ort: OrtModule;
  try {
    ort = await import('onnxruntime-node');
  } catch (err) {
    o.note(`predict-onnx: onnxruntime-node does not load here (${(err as Error).message}), skipped`);
    return;
  }
  const images = testImages(fashionDir);
  const { x, n, width } = images;
  const stack = await startStack(1);
  try {
    const dataset = await uploadFashion(stack.baseUrl, fashionDir);
    for (const hidden of NETWORKS) {
      const network = `784-${hidden.join('-')}-10`;
      o.note(`predict-onnx ${network}: training one epoch through the service, downloading safetensors and ONNX`);
      const job = await trainedJob(stack, dataset, hidden);

      // Agreement over the whole test set: the core (one thread), ONNX Runtime, and the route (float32).
      const core1 = loadCheckpoint(job.safetensors, selectKernels({ threads: 1 }));
      const session1 = await ort.InferenceSession.create(job.onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
      const ours = predict(core1, x, n).outputs;
      const theirs = await runAll(ortRunner(ort, session1, width), x, n, width, 1024);
      const routed = await runAll(httpRunner(stack.baseUrl, job.jobId, 'float32', width), x, n, width, 2500);
      const httpEqualsCore = routed.length === ours.length && routed.every((v, i) => v === ours[i]);
      emit({ name: 'predict-agreement', network, rows: n, ...agreement(ours, theirs, 10), httpEqualsCore });

      const coreMedians = new Map<number, SideFigure>();
      for (const threads of o.threads) {
        const ckpt = threads === 1 ? core1 : loadCheckpoint(job.safetensors, selectKernels({ threads }));
        const session =
          threads === 1
            ? session1
            : await ort.InferenceSession.create(job.onnx, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
        for (const batch of PREDICT_BATCHES) {
          o.note(`predict-onnx ${network}: core vs ONNX Runtime, batch ${batch}, ${threads} thread(s)`);
          const r = await compare(coreRunner(ckpt), ortRunner(ort, session, width), images, batch, o.rounds, o.seconds);
          if (threads === 1) coreMedians.set(batch, r.core);
          // More threads spin while they wait for work: their CPU time is not the work's.
          const cpuRatio = threads === 1 ? r.cpuRatio : null;
          emit({ name: 'predict-vs-onnxruntime', network, threads, batch, ...r, cpuRatio, loadAverage: Math.round(loadavg()[0]! * 10) / 10 });
        }
        if (threads !== 1) await session.release();
      }
      await session1.release();

      for (const format of ['json', 'float32'] as const) {
        for (const batch of PREDICT_BATCHES) {
          o.note(`predict-onnx ${network}: HTTP ${format}, batch ${batch}`);
          const run = httpRunner(stack.baseUrl, job.jobId, format, width);
          const rounds: Round[] = [];
          for (let r = 0; r < o.rounds; r++) rounds.push(await round(run, images, batch, o.seconds, r * 997));
          const http = figureOf(batch, rounds);
          const core = coreMedians.get(batch);
          const ratioToCore =
            batch === 1
              ? (core?.microsPerCall?.median ?? NaN) / http.microsPerCall!.median
              : http.rowsPerSec!.median / (core?.rowsPerSec?.median ?? NaN);
          emit({ name: 'predict-http', network, format, batch, http, ratioToCore, loadAverage: Math.round(loadavg()[0]! * 10) / 10 });
        }
      }
    }
  } finally {
    await stack.stop();
  }
}
