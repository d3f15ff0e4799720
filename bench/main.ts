// `npm run bench`: the numeric core against PyTorch on the same machine, in one run.
// Fashion-MNIST MLP 784-128-10 training (samples/s and test accuracy, per batch size and thread
// count; ours and PyTorch take turns epoch by epoch, so the host's slow spells fall on both), GEMM GFLOP/s against OpenBLAS on the MLP's shapes, the peak RSS of a training process,
// and what within-epoch progress events cost training (on against off, when Redis answers), and the
// service end to end (bench/service.ts): job start-up, a trainer's peak RSS, and training samples/s
// and CPU per sample through the API against the core alone on the same job's inputs, at the same
// batch size and threads. GEMM and training lines
// give their % of the FP32 peak measured at start (bench/peak.ts).
// Flags: --json (one JSON object per line on stdout), --epochs N (default 20, enough for ≥ 0.89 test
// accuracy at batch 32), --quick (2 epochs, short GEMM timings), --no-baseline, --only SECTION
// (gemm, train, rss, progress, service, predict or predict-onnx; repeatable). predict-onnx
// (bench/predict-onnx.ts): predict latency and throughput through the core, ONNX Runtime and the
// HTTP route on the same models.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Kernels } from '../src/core/kernels/kernels.js';
import { createBackend, selectKernels } from '../src/core/kernels/select.js';
import { runBaseline, startLockstepBaseline, torchAvailable } from './baseline.js';
import { FASHION_MNIST_DIR, loadFashionMnist } from './fashion-mnist.js';
import { measureGemm, mlpShapes } from './gemm.js';
import { learningRateFor, median, mlpFlopsPerSample, trainMlp, type MlpResult, type MlpRun } from './mlp.js';
import { measurePeak, percentOfPeak, type Peak } from './peak.js';
import { measurePredictFormats } from './predict-formats.js';
import { predictOnnxSection, type PredictOnnxLine, type SideFigure, type Spread } from './predict-onnx.js';
import { measureProgressOverhead } from './progress.js';
import { startSection, throughputSection, type ServiceLine } from './service.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const only = args.flatMap((a, i) => (args[i - 1] === '--only' ? [a] : []));
const runs = (section: string) => only.length === 0 || only.includes(section);
const epochsFlag = args.indexOf('--epochs');
const EPOCHS = epochsFlag >= 0 ? Number(args[epochsFlag + 1]) : quick ? 2 : 20;
// The WebAssembly fallback is measured for speed only, over fewer epochs.
const WASM_EPOCHS = Math.min(EPOCHS, 3);
const GEMM_SECONDS = quick ? 0.2 : 0.6;
const BATCH_SIZES = [32, 128, 1024];
const THREADS = availableParallelism() >= 2 ? [1, 2] : [1];
const SEED = 1;

/** A result: a JSON line with --json, else the human-readable line (progress goes to stderr). */
function emit(record: Record<string, unknown>, human: string): void {
  process.stdout.write(`${json ? JSON.stringify(record) : human}\n`);
}

function note(message: string): void {
  process.stderr.write(`# ${message}\n`);
}

const fmt = (n: number | null, digits = 0): string =>
  n === null || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function ratioOf(ours: number, theirs: number | null): number | null {
  return theirs === null || theirs <= 0 ? null : Math.round((ours / theirs) * 100) / 100;
}

interface BaselineTrain {
  samplesPerSec: number;
  testAccuracy: number;
  baselineKernel: string;
}
interface BaselineGemm {
  shapes: { M: number; N: number; K: number; gflops: number }[];
  baselineKernel: string;
}

const withBaseline = !args.includes('--no-baseline') && torchAvailable();
// Measured once, before the sections (about a second of the probe's loops).
const peak: Peak | null = runs('gemm') || runs('train') ? measurePeak() : null;

/** The baseline's result, or null (with a note) when its run fails: our lines are still worth printing. */
function tryBaseline<T>(baselineArgs: string[], threads: number): T | null {
  try {
    return runBaseline<T>(baselineArgs, threads);
  } catch (err) {
    note(`baseline failed: ${(err as Error).message}`);
    return null;
  }
}

function machine(): void {
  const cpu = cpus()[0]?.model ?? 'unknown';
  emit(
    { name: 'machine', cpu, cores: availableParallelism(), node: process.version, baseline: withBaseline ? 'pytorch' : null, epochs: EPOCHS },
    `machine: ${cpu}, ${availableParallelism()} cores, Node ${process.version}; baseline: ${withBaseline ? 'PyTorch (/usr/bin/python3)' : 'none'}; ${EPOCHS} epochs per training line`,
  );
}

function peakLine(): void {
  if (peak === null) {
    emit({ name: 'peak', gflopsPerCore: null }, 'peak: not measured (no native x86-64 SIMD build here); no % of peak below');
    return;
  }
  const p = peak;
  emit(
    { name: 'peak', ...p, gflopsPerCore: Math.round(p.gflopsPerCore * 10) / 10 },
    `peak FP32 per core: ${p.fmaUnits} FMA units × ${p.lanes} lanes × 2 × ${fmt(p.clockGHz, 2)} GHz = ${fmt(p.gflopsPerCore, 1)} GFLOP/s ` +
      `(clock from a dependent integer-add chain; ${fmt(p.fmaPerCycle, 2)} FMAs/cycle from independent FMA chains, latency ${fmt(p.fmaLatencyCycles, 2)} cycles); ` +
      '% of peak = GFLOP/s ÷ (threads × this), GFLOP/s counting the dense products (on image bytes the AVX-512 build skips all-zero steps, so it runs fewer FMAs than it is credited with)',
  );
}

function gemmSection(): void {
  const shapes = mlpShapes(BATCH_SIZES);
  for (const threads of THREADS) {
    let baseline: BaselineGemm | null = null;
    if (withBaseline) {
      const spec = shapes.map((s) => `${s.M},${s.N},${s.K},${s.transA ? 1 : 0},${s.transB ? 1 : 0}`).join(';');
      baseline = tryBaseline<BaselineGemm>(['gemm', '--shapes', spec, '--seconds', String(GEMM_SECONDS)], threads);
    }
    const backends: Kernels[] = [];
    for (const kind of ['native', 'wasm', 'js'] as const) {
      const k = createBackend(kind, threads);
      if (k !== null && k.threads === threads) backends.push(k);
    }
    for (const k of backends) {
      shapes.forEach((s, i) => {
        const gflops = measureGemm(k, s, GEMM_SECONDS);
        const theirs = baseline?.shapes[i]?.gflops ?? null;
        emit(
          {
            name: 'gemm',
            shape: s.label,
            M: s.M,
            N: s.N,
            K: s.K,
            backend: k.name,
            threads,
            gflops: Math.round(gflops * 10) / 10,
            baselineGflops: theirs === null ? null : Math.round(theirs * 10) / 10,
            ratio: ratioOf(gflops, theirs),
            baselineKernel: baseline?.baselineKernel ?? null,
            percentOfPeak: percentOfPeak(gflops, threads, peak),
            baselinePercentOfPeak: theirs === null ? null : percentOfPeak(theirs, threads, peak),
          },
          `gemm ${s.label.padEnd(17)} ${`${s.M}x${s.N}x${s.K}`.padEnd(13)} ${k.name.padEnd(18)} ${threads}T ${fmt(gflops, 1).padStart(6)} GFLOP/s` +
            ` (${fmt(percentOfPeak(gflops, threads, peak), 1)}% of peak)  OpenBLAS(${baseline?.baselineKernel ?? '—'}) ${fmt(theirs, 1).padStart(6)}` +
            ` (${fmt(theirs === null ? null : percentOfPeak(theirs, threads, peak), 1)}%)  ratio ${fmt(ratioOf(gflops, theirs), 2)}`,
        );
      });
    }
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function spreadOf(values: number[]): { median: number; min: number; max: number } {
  return { median: round2(median(values)), min: round2(Math.min(...values)), max: round2(Math.max(...values)) };
}

/**
 * Ours and PyTorch's training of the same run, taking turns epoch by epoch (PyTorch's epoch 1, ours,
 * its epoch 2, …): each side's epochs run while the other waits, so a slow spell of a shared host
 * slows one epoch of each rather than one whole side. The baseline is null (with a note) if it fails.
 */
async function trainInTurns(run: MlpRun, data: ReturnType<typeof loadFashionMnist>, k: Kernels): Promise<{ ours: MlpResult; baseline: BaselineTrain | null; epochRatios: number[] }> {
  const args = ['train', '--data', data.dir, '--batch', String(run.batchSize), '--epochs', String(run.epochs), '--lr', String(run.learningRate), '--seed', String(run.seed)];
  const torch = startLockstepBaseline<BaselineTrain>(args, k.threads);
  const theirs: number[] = [];
  let failed: Error | null = null;
  const theirTurn = async () => {
    if (failed !== null) return;
    try {
      theirs.push(await torch.nextEpoch());
    } catch (err) {
      failed = err as Error;
    }
  };
  await theirTurn();
  let epoch = 0;
  const ours = await trainMlp(run, { train: data.train, test: data.test }, k, async () => {
    if (++epoch < run.epochs) await theirTurn();
  });
  let baseline: BaselineTrain | null = null;
  try {
    if (failed === null) baseline = await torch.finish();
  } catch (err) {
    failed = err as Error;
  }
  if (failed !== null) {
    note(`baseline failed: ${failed.message}`);
    torch.kill();
    return { ours, baseline: null, epochRatios: [] };
  }
  return { ours, baseline, epochRatios: ours.rates.map((r, e) => r / theirs[e]!) };
}

async function trainingSection(): Promise<void> {
  note('loading Fashion-MNIST');
  const data = loadFashionMnist();
  const wasm = createBackend('wasm', 1);
  const flopsPerSample = mlpFlopsPerSample([128]);
  // End to end: every training flop of the step (mlpFlopsPerSample) over the whole step's time.
  const endToEnd = (samplesPerSec: number | null, threads: number) =>
    samplesPerSec === null ? null : percentOfPeak((samplesPerSec * flopsPerSample) / 1e9, threads, peak);
  for (const batchSize of BATCH_SIZES) {
    const learningRate = learningRateFor(batchSize);
    const run = { hidden: [128], batchSize, epochs: EPOCHS, learningRate, seed: SEED };
    for (const threads of THREADS) {
      const candidates: Kernels[] = [selectKernels({ threads })];
      if (threads === 1 && wasm !== null && wasm.name !== candidates[0]!.name) candidates.push(wasm);
      let baseline: BaselineTrain | null = null;
      let epochRatios: number[] = [];
      for (const [i, k] of candidates.entries()) {
        const epochs = k.name.startsWith('wasm') ? WASM_EPOCHS : EPOCHS;
        note(`traind ${k.name} batch ${batchSize}, ${k.threads} thread(s), ${epochs} epochs${i === 0 && withBaseline ? ', taking turns with PyTorch epoch by epoch' : ''}`);
        let ours: MlpResult;
        if (i === 0 && withBaseline) {
          const turns = await trainInTurns({ ...run, epochs }, data, k);
          ours = turns.ours;
          baseline = turns.baseline;
          epochRatios = turns.epochRatios;
        } else {
          ours = await trainMlp({ ...run, epochs }, { train: data.train, test: data.test }, k);
        }
        const theirs = baseline?.samplesPerSec ?? null;
        const record = {
          name: `traind ${ours.backend}`,
          batchSize,
          threads: k.threads,
          samplesPerSec: Math.round(ours.samplesPerSec),
          baselineSamplesPerSec: theirs === null ? null : Math.round(theirs),
          ratio: ratioOf(ours.samplesPerSec, theirs),
          // Ours ÷ PyTorch's for each epoch, the two run back to back: how much the host's slow spells moved the ratio.
          epochRatios: k === candidates[0] && epochRatios.length > 0 ? spreadOf(epochRatios) : null,
          testAccuracy: Math.round(ours.testAccuracy * 10000) / 10000,
          // Accuracies compare only after the same number of epochs.
          baselineTestAccuracy: baseline === null || epochs !== EPOCHS ? null : Math.round(baseline.testAccuracy * 10000) / 10000,
          baselineKernel: baseline?.baselineKernel ?? null,
          epochs,
          learningRate,
          flopsPerSample,
          percentOfPeak: endToEnd(ours.samplesPerSec, k.threads),
          baselinePercentOfPeak: endToEnd(theirs, k.threads),
        };
        emit(
          record,
          `train ${record.name.padEnd(24)} batch ${String(batchSize).padStart(4)} ${k.threads}T ` +
            `${fmt(record.samplesPerSec).padStart(8)} samples/s  PyTorch ${fmt(record.baselineSamplesPerSec).padStart(8)}  ratio ${fmt(record.ratio, 2).padStart(5)}` +
            (record.epochRatios === null ? '' : ` (epoch by epoch ${fmt(record.epochRatios.min, 2)}–${fmt(record.epochRatios.max, 2)}, median ${fmt(record.epochRatios.median, 2)})`) +
            `  test acc ${fmt(record.testAccuracy * 100, 2)}% vs ${fmt(record.baselineTestAccuracy === null ? null : record.baselineTestAccuracy * 100, 2)}%` +
            `  end to end ${fmt(record.percentOfPeak, 1)}% of peak vs ${fmt(record.baselinePercentOfPeak, 1)}%` +
            `  (${epochs} epochs, lr ${learningRate}, OpenBLAS ${record.baselineKernel ?? '—'})`,
        );
      }
    }
  }
}

function rssSection(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const threads of THREADS) {
    note(`peak RSS child, ${threads} thread(s)`);
    const r = spawnSync(process.execPath, [join(here, 'rss-child.js'), String(threads)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rss-child failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim()) as { backend: string; peakRssMiB: number; afterLoadRssMiB: number };
    emit(
      { name: 'peak-rss', network: '784-256-128-10', batchSize: 1024, backend: res.backend, threads, peakRssMiB: Math.round(res.peakRssMiB), afterLoadRssMiB: Math.round(res.afterLoadRssMiB) },
      `rss   MLP 784-256-128-10 batch 1024 ${res.backend} ${threads}T: peak RSS ${fmt(res.peakRssMiB)} MiB (of which ${fmt(res.afterLoadRssMiB)} MiB after loading Fashion-MNIST)`,
    );
  }
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

async function progressSection(): Promise<void> {
  const data = loadFashionMnist();
  // One trainer's kernels (workers/backend.ts: one thread), batch 32: the most mini-batches per second.
  const kernels = selectKernels({ threads: 1 });
  const run = { hidden: [128], batchSize: 32, epochs: quick ? 2 : 3, learningRate: learningRateFor(32), seed: SEED };
  const rounds = quick ? 3 : 7;
  note(`progress events: ${rounds} rounds of ${run.epochs} epochs off / throttled / every mini-batch`);
  const r = await measureProgressOverhead(run, data.train, kernels, rounds);
  if (r === null) {
    note('progress events: no Redis at REDIS_URL, skipped');
    return;
  }
  emit(
    { name: 'progress-overhead', backend: kernels.name, batchSize: 32, epochs: run.epochs, rounds, cpuSeconds: r.seconds, ratio: { throttled: round4(r.ratio.throttled), 'every-batch': round4(r.ratio['every-batch']) }, received: r.received, microsPerReport: Math.round(r.microsPerReport * 10) / 10 },
    `progress ${kernels.name} batch 32, ${run.epochs} epochs (CPU s): off ${fmt(r.seconds.off, 3)}, ` +
      `with progress (≤ 4/s, ${fmt(r.received.throttled)} published) ${fmt(r.seconds.throttled, 3)}, ratio ${fmt(r.ratio.throttled, 4)}; ` +
      `every mini-batch (${fmt(r.received['every-batch'])} published) ${fmt(r.seconds['every-batch'], 3)}, ratio ${fmt(r.ratio['every-batch'], 4)}; ` +
      `${fmt(r.microsPerReport, 1)} µs per report (medians of ${rounds} rounds)`,
  );
}

async function serviceSection(): Promise<void> {
  const fmtMs = (v: unknown) => (typeof v === 'number' ? `${v} ms` : '—');
  note('service: start-up and peak RSS (API + worker processes, Fashion-MNIST uploaded over HTTP)');
  await startSection(FASHION_MNIST_DIR, quick ? 3 : 6, (r: ServiceLine) =>
    emit(
      r,
      `start job ${String(r.job)} (${String(r.dataset)}): submit → first mini-batch ${fmtMs(r.submitToFirstBatchMs)}, running → first mini-batch ${fmtMs(r.runningToFirstBatchMs)}` +
        ` (loading ${fmtMs(r.loadMs)}), spare trainer ${r.spareTrainer ? 'yes' : 'no'}, trainer peak RSS ${String(r.peakRssMiB)} MiB, ${String(r.threads)} thread(s)`,
    ),
  );
  // 12 pairs, not 8: single rows of 8 moved by several percent between runs on a shared host.
  const pairs = quick ? 3 : 12;
  // Six epochs, the first left out of each side's rate (bench/service.ts): with three, the figure
  // was the second epoch's, still on the climb both sides make over the first few.
  const epochs = Math.min(EPOCHS, 6);
  note(`service: training throughput against the core, ${pairs} pairs of ${epochs}-epoch runs per line`);
  const iqr = (r: unknown) => {
    const { median, iqr } = r as { median: number; iqr: [number, number] };
    return `${fmt(median, 3)} (IQR ${fmt(iqr[0], 3)}–${fmt(iqr[1], 3)})`;
  };
  await throughputSection(FASHION_MNIST_DIR, [1024, 128], THREADS, epochs, pairs, (r: ServiceLine) =>
    emit(
      r,
      r.name === 'service-throughput-control'
        ? `service control: the core against itself, ${String(r.pairs)} pairs, batch ${String(r.batchSize)} ${String(r.threads)}T: samples/s ratio ${iqr(r.ratio)}; CPU/sample ratio ${iqr(r.cpuRatio)}; load average ${(r.loadAverage as number[]).join('–')}`
        : `service batch ${String(r.batchSize).padStart(4)} ${String(r.threads)}T (job ran on ${String(r.jobThreads)}): ${fmt(r.serviceSamplesPerSec as number).padStart(8)} samples/s` +
        `  core ${fmt(r.coreSamplesPerSec as number).padStart(8)}  ratio ${iqr(r.ratio)}; CPU/sample core ÷ service ${iqr(r.cpuRatio)}` +
        ` (${fmt(r.coreCpuMicrosPerSample as number, 2)} vs ${fmt(r.serviceCpuMicrosPerSample as number, 2)} µs), with the hooks ${iqr(r.cpuRatioWithHooks)};` +
        ` hooks per epoch ${fmt((r.hooksPerEpoch as { cpuMs: number }).cpuMs, 1)} ms CPU, ${fmt((r.hooksPerEpoch as { wallMs: number }).wallMs, 1)} ms wall; load average ${(r.loadAverage as number[]).join('–')}`,
    ),
  );
}

async function predictSection(): Promise<void> {
  const rounds = quick ? 2 : 3;
  note(`predict formats: Fashion-MNIST's 10,000 test images through the API, ${rounds} rounds`);
  const results = await measurePredictFormats(FASHION_MNIST_DIR, rounds);
  const json = results.find((r) => r.format === 'json')!;
  for (const r of results) {
    const ratio = Math.round((json.seconds / r.seconds) * 100) / 100;
    emit(
      { name: 'predict-format', format: r.format, rows: 10_000, requests: r.requests, bytes: r.bytes, seconds: Math.round(r.seconds * 1000) / 1000, speedupOverJson: ratio },
      `predict 10,000 rows as ${r.format.padEnd(7)} ${String(r.requests).padStart(2)} request(s), ${fmt(r.bytes / 1e6, 1).padStart(5)} MB: ${fmt(r.seconds, 3)} s (JSON ÷ this: ${fmt(ratio, 2)})`,
    );
  }
}

function sideText(f: SideFigure): string {
  const range = (s: Spread, digits: number) => `${fmt(s.median, digits)} (p10–p90 ${fmt(s.p10, digits)}–${fmt(s.p90, digits)})`;
  return f.microsPerCall !== undefined ? `${range(f.microsPerCall, 1)} µs` : `${range(f.rowsPerSec!, 0)} rows/s`;
}

function predictOnnxLine(r: PredictOnnxLine): void {
  switch (r.name) {
    case 'predict-agreement':
      emit(
        r,
        `predict ${r.network}: ${fmt(r.rows)} test images, core vs ONNX Runtime max |Δp| ${r.maxAbsDiff.toExponential(2)}, labels agree ${fmt(r.labelsAgree)}/${fmt(r.rows)}; ` +
          `HTTP float32 equals the core bit for bit: ${r.httpEqualsCore ? 'yes' : 'NO'}`,
      );
      return;
    case 'predict-vs-onnxruntime':
      emit(
        r,
        `predict ${r.network} ${r.threads}T batch ${String(r.batch).padStart(4)}: core ${sideText(r.core)}  ONNX Runtime ${sideText(r.onnxruntime)}` +
          `  ours÷ORT ${fmt(r.ratio.median, 2)} (rounds p10–p90 ${fmt(r.ratio.p10, 2)}–${fmt(r.ratio.p90, 2)})` +
          (r.cpuRatio === null ? '' : `, in CPU time ${fmt(r.cpuRatio.median, 2)} (${fmt(r.cpuRatio.p10, 2)}–${fmt(r.cpuRatio.p90, 2)})`) +
          `  [load ${fmt(r.loadAverage, 1)}]`,
      );
      return;
    case 'predict-http':
      emit(r, `predict ${r.network} HTTP ${r.format.padEnd(7)} batch ${String(r.batch).padStart(4)}: ${sideText(r.http)}  route÷core ${fmt(r.ratioToCore, 3)}  [load ${fmt(r.loadAverage, 1)}]`);
      return;
  }
}

async function predictOnnx(): Promise<void> {
  note('predict against ONNX Runtime: models trained through the service, core / onnxruntime-node / HTTP');
  await predictOnnxSection(FASHION_MNIST_DIR, { threads: THREADS, rounds: quick ? 3 : 9, seconds: quick ? 0.1 : 0.25, note }, predictOnnxLine);
}

machine();
if (runs('gemm') || runs('train')) peakLine();
if (runs('gemm')) gemmSection();
if (runs('train')) await trainingSection();
if (runs('rss')) rssSection();
if (runs('progress')) await progressSection();
if (runs('service')) await serviceSection();
if (runs('predict')) await predictSection();
if (runs('predict-onnx')) await predictOnnx();
