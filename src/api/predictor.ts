// Inference from a job's best checkpoint: loads it with the core after checking its bytes against
// the index, and shapes outputs for classifiers and regressors. A loaded model is reused only while
// the index names the same checkpoint and the file on disk is the same (inode, size, change times),
// so a retrained best, a replaced or damaged file, or a deleted one is never answered from memory.
import { loadCheckpoint, predict, selectKernels, type Checkpoint, type Kernels } from '../core/index.js';
import { getCheckpoint, type CheckpointMeta } from '../store/checkpoints.js';
import type { Store } from '../store/redis.js';
import { CheckpointCorruptError, checkpointFileIdentity, readVerifiedCheckpoint } from '../store/verified-checkpoint.js';
import { ApiError } from './errors.js';

/** Loaded models kept in memory per job, least recently used dropped first. */
const CACHE_SIZE = 16;
interface Loaded {
  epoch: number;
  sha256: string;
  identity: string;
  ckpt: Checkpoint;
}
const cache = new Map<string, Loaded>();

// The backend the workers train with (one thread), so predictions reproduce the recorded
// validation metrics bit for bit rather than to the last few bits.
let kernels: Kernels | null = null;
function inferenceKernels(): Kernels {
  kernels ??= selectKernels({ threads: 1 });
  return kernels;
}

function remember(jobId: string, loaded: Loaded): void {
  cache.delete(jobId);
  if (cache.size >= CACHE_SIZE) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(jobId, loaded);
}

/** The cached model when it is still the indexed best and its file is unchanged on disk. */
async function cached(s: Store, jobId: string, meta: CheckpointMeta): Promise<Loaded | null> {
  const hit = cache.get(jobId);
  if (hit === undefined) return null;
  if (hit.epoch === meta.epoch && hit.sha256 === meta.sha256 && hit.identity === (await checkpointFileIdentity(s, jobId, meta.epoch))) return hit;
  cache.delete(jobId);
  return null;
}

async function loadBest(s: Store, jobId: string): Promise<Loaded> {
  // A second try covers a best checkpoint evicted between reading the index and opening its file.
  for (let attempt = 1; ; attempt++) {
    const meta = await getCheckpoint(s, jobId, 'best');
    if (meta === null) throw new ApiError('no_checkpoint', 'the job has no checkpoint yet: predict works once its first best checkpoint is written');
    const hit = await cached(s, jobId, meta);
    if (hit !== null) {
      remember(jobId, hit);
      return hit;
    }
    const file = await readVerifiedCheckpoint(s, jobId, meta);
    if (file === null) {
      if (attempt < 2) continue;
      throw new ApiError('no_checkpoint', 'the best checkpoint was replaced while it was being read; retry');
    }
    let ckpt: Checkpoint;
    try {
      ckpt = loadCheckpoint(file.bytes, inferenceKernels());
    } catch (err) {
      // The bytes are the ones recorded, but not a checkpoint this core can load.
      throw new CheckpointCorruptError(jobId, meta.epoch, (err as Error).message);
    }
    const loaded = { epoch: meta.epoch, sha256: meta.sha256, identity: file.identity, ckpt };
    remember(jobId, loaded);
    return loaded;
  }
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
