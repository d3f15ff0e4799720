// Inference from a job's best checkpoint: loads it with the core (cached per checkpoint sha256,
// so a retrained best is picked up) and shapes outputs for classifiers and regressors.
import { loadCheckpoint, predict, selectKernels, type Checkpoint, type Kernels } from '../core/index.js';
import { getCheckpoint, readCheckpointBytes } from '../store/checkpoints.js';
import type { Store } from '../store/redis.js';
import { ApiError } from './errors.js';

/** Loaded models kept in memory, least recently used dropped first. */
const CACHE_SIZE = 16;
const cache = new Map<string, Checkpoint>();

// The backend the workers train with (one thread), so predictions reproduce the recorded
// validation metrics bit for bit rather than to the last few bits.
let kernels: Kernels | null = null;
function inferenceKernels(): Kernels {
  kernels ??= selectKernels({ threads: 1 });
  return kernels;
}

async function loadBest(s: Store, jobId: string): Promise<{ ckpt: Checkpoint; epoch: number; sha256: string }> {
  const meta = await getCheckpoint(s, jobId, 'best');
  if (meta === null) throw new ApiError('no_checkpoint', 'the job has no checkpoint yet: predict works once its first best checkpoint is written');
  const key = `${jobId}:${meta.sha256}`;
  let ckpt = cache.get(key);
  if (ckpt === undefined) {
    ckpt = loadCheckpoint(await readCheckpointBytes(s, jobId, meta.epoch), inferenceKernels());
    if (cache.size >= CACHE_SIZE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
  } else {
    cache.delete(key);
  }
  cache.set(key, ckpt);
  return { ckpt, epoch: meta.epoch, sha256: meta.sha256 };
}

export type PredictOutput = { probabilities: number[]; label: number } | { value: number[] };

export async function predictRows(s: Store, jobId: string, inputs: number[][]) {
  const { ckpt, epoch, sha256 } = await loadBest(s, jobId);
  const I = ckpt.inputWidth;
  const n = inputs.length;
  if (n > s.config.limits.predictRows) {
    throw new ApiError('invalid_inputs', `at most ${s.config.limits.predictRows} rows per request, got ${n}`, { path: 'inputs', issues: [{ path: 'inputs', message: 'too many rows', in: 'body' }] });
  }
  const x = new Float32Array(n * I);
  for (let r = 0; r < n; r++) {
    const row = inputs[r] ?? [];
    if (row.length !== I) {
      const path = `inputs.${r}`;
      throw new ApiError('invalid_inputs', `row ${r} has ${row.length} values; the model takes ${I} features`, { path, issues: [{ path, message: `expected ${I} values, got ${row.length}`, in: 'body' }] });
    }
    x.set(row, r * I);
  }
  const { outputs, width, task } = predict(ckpt, x, n);
  // Binary cross-entropy with one unit is a classifier too: label = p ≥ 0.5.
  const classifier = task === 'classification';
  const out: PredictOutput[] = [];
  for (let r = 0; r < n; r++) {
    const row = Array.from(outputs.subarray(r * width, (r + 1) * width));
    if (!row.every(Number.isFinite)) {
      const path = `inputs.${r}`;
      throw new ApiError('invalid_inputs', `the model's output for row ${r} is not finite (inputs too large for this model?)`, { path, issues: [{ path, message: 'non-finite output', in: 'body' }] });
    }
    if (!classifier) {
      out.push({ value: row });
    } else if (width === 1) {
      out.push({ probabilities: row, label: (row[0] ?? 0) >= 0.5 ? 1 : 0 });
    } else {
      let best = 0;
      for (let k = 1; k < width; k++) if ((row[k] ?? -Infinity) > (row[best] ?? -Infinity)) best = k;
      out.push({ probabilities: row, label: best });
    }
  }
  return { outputs: out, checkpoint: { epoch, sha256 } };
}
