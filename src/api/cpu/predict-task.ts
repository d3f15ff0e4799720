// Runs in a CPU thread: a predict request's body (spooled to disk by the API, or its bytes when
// small: JSON rows, little-endian float32 rows or an IDX images file) read and checked, the job's best checkpoint
// loaded and verified against its recorded size and sha256, the row and cost bounds checked before
// any conversion or inference, then inference; the response body goes back as one transferred buffer.
// Loaded models are cached per job while the indexed checkpoint and its stored object are unchanged.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { countParams, loadCheckpoint, predict, selectKernels, type Checkpoint, type Kernels } from '../../core/node.js';
import { DataError, idxImagesShape, parseIdxImages } from '../../data/index.js';
import { CheckpointCorruptError } from '../../store/verified-checkpoint.js';
import { ApiError, type Issue } from '../errors.js';
import { CheckpointMissing, type PredictBody, type PredictResult, type PredictTask } from './protocol.js';
import { readOpened } from './read-opened.js';
import { threadStorage } from './thread-storage.js';

/** Loaded models kept per job, least recently used dropped first. */
const CACHE_SIZE = 16;
const cache = new Map<string, { epoch: number; sha256: string; identity: string; ckpt: Checkpoint }>();

// The backend the workers train with (one thread), so predictions reproduce the recorded
// validation metrics bit for bit rather than to the last few bits.
let kernels: Kernels | null = null;
function inferenceKernels(): Kernels {
  kernels ??= selectKernels({ threads: 1 });
  return kernels;
}

const INPUT_BOUND = 1e30;

function bodyError(path: string, message: string): ApiError {
  const issue: Issue = { path, message, in: 'body' };
  return new ApiError('invalid_request', `${path || '(root)'}: ${message}`, { path, issues: [issue] });
}

function inputsError(path: string, message: string, issue: string): ApiError {
  return new ApiError('invalid_inputs', message, { path, issues: [{ path, message: issue, in: 'body' }] });
}

/** The body's bytes: read from its file, or as sent with the task. */
function bodyBytes(body: PredictBody): Buffer {
  return 'bytes' in body ? Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength) : readFileSync(body.path);
}

function bodySize(body: PredictBody): number {
  return 'bytes' in body ? body.bytes.byteLength : statSync(body.path).size;
}

/** {"inputs": number[][]} with at least one row and every value a number within ±1e30. */
function readRows(source: PredictBody): unknown[][] {
  let body: unknown;
  try {
    body = JSON.parse(bodyBytes(source).toString('utf8'));
  } catch (err) {
    throw new ApiError('invalid_json', `the body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bodyError('', 'expected an object {"inputs": number[][]}');
  const unknown = Object.keys(body).filter((k) => k !== 'inputs');
  if (unknown.length > 0) {
    const names = unknown.slice(0, 5).map((k) => `"${k.slice(0, 40)}"`);
    throw bodyError(unknown[0]?.slice(0, 40) ?? '', `unknown field${unknown.length > 1 ? 's' : ''} ${names.join(', ')}`);
  }
  const { inputs } = body as { inputs?: unknown };
  if (!Array.isArray(inputs)) throw bodyError('inputs', 'expected an array of rows (number[][])');
  if (inputs.length === 0) throw bodyError('inputs', 'expected at least 1 row');
  for (let r = 0; r < inputs.length; r++) {
    const row: unknown = inputs[r];
    if (!Array.isArray(row)) throw bodyError(`inputs.${r}`, 'expected an array of numbers');
    for (let c = 0; c < row.length; c++) {
      const v: unknown = row[c];
      if (typeof v !== 'number' || !(v >= -INPUT_BOUND && v <= INPUT_BOUND)) {
        throw bodyError(`inputs.${r}.${c}`, `expected a number in [-1e30, 1e30]`);
      }
    }
  }
  return inputs as unknown[][];
}

/** The job's best model, from the cache while its object is unchanged, else read and verified. */
async function loadBest(t: PredictTask): Promise<Checkpoint> {
  const c = t.checkpoint;
  const storage = threadStorage();
  const st = await storage.stat(c.key);
  if (st === null) throw new CheckpointMissing(c.key);
  const hit = cache.get(t.jobId);
  if (hit !== undefined && hit.epoch === c.epoch && hit.sha256 === c.sha256 && hit.identity === st.version) {
    cache.delete(t.jobId);
    cache.set(t.jobId, hit);
    return hit.ckpt;
  }
  cache.delete(t.jobId);
  const opened = await storage.open(c.key);
  if (opened === null) throw new CheckpointMissing(c.key);
  try {
    // Version and bytes from the same opened object: whatever is written to the key meanwhile.
    if (opened.size !== c.size) throw new CheckpointCorruptError(t.jobId, c.epoch, `${opened.size} bytes on disk, ${c.size} recorded`);
    const bytes = await readOpened(opened.handle, c.size);
    if (bytes === null) throw new Error(`short read of ${c.size} bytes`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== c.sha256) throw new CheckpointCorruptError(t.jobId, c.epoch, `sha256 ${sha256} on disk, ${c.sha256} recorded`);
    let ckpt: Checkpoint;
    try {
      ckpt = loadCheckpoint(bytes, inferenceKernels());
    } catch (err) {
      // The bytes are the ones recorded, but not a checkpoint this core can load.
      throw new CheckpointCorruptError(t.jobId, c.epoch, (err as Error).message);
    }
    if (cache.size >= CACHE_SIZE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(t.jobId, { epoch: c.epoch, sha256: c.sha256, identity: opened.version, ckpt });
    return ckpt;
  } finally {
    await opened.handle.close();
  }
}

export type PredictOutput = { probabilities: number[]; label: number } | { value: number[] };

function checkRowCount(n: number, t: PredictTask): void {
  if (n > t.maxRows) {
    throw inputsError('inputs', `at most ${t.maxRows} rows per request (MAX_PREDICT_ROWS), got ${n}`, 'too many rows');
  }
}

/** Refused before any inference: rows × parameters bounds the multiply-adds of one request. */
function checkCost(n: number, ckpt: Checkpoint, t: PredictTask): void {
  const params = countParams(ckpt.model.layers, ckpt.inputWidth);
  if (n * params > t.maxCost) {
    throw inputsError(
      'inputs',
      `${n} rows × ${params} parameters = ${n * params} is over MAX_PREDICT_COST = ${t.maxCost}: send at most ${Math.max(1, Math.floor(t.maxCost / params))} rows per request to this model`,
      'over MAX_PREDICT_COST',
    );
  }
}

interface Rows {
  ckpt: Checkpoint;
  x: Float32Array;
  n: number;
}

async function jsonInput(t: PredictTask): Promise<Rows> {
  const rows = readRows(t.body);
  const n = rows.length;
  checkRowCount(n, t);
  const ckpt = await loadBest(t);
  checkCost(n, ckpt, t);
  const I = ckpt.inputWidth;
  const x = new Float32Array(n * I);
  for (let r = 0; r < n; r++) {
    const row = rows[r] as number[];
    if (row.length !== I) {
      throw inputsError(`inputs.${r}`, `row ${r} has ${row.length} values; the model takes ${I} features`, `expected ${I} values, got ${row.length}`);
    }
    x.set(row, r * I);
  }
  return { ckpt, x, n };
}

/** Little-endian float32 rows of the model's width, back to back; the row count follows from the size. */
async function float32Input(t: PredictTask): Promise<Rows> {
  const size = bodySize(t.body);
  const ckpt = await loadBest(t);
  const I = ckpt.inputWidth;
  const rowBytes = 4 * I;
  if (size === 0 || size % rowBytes !== 0) {
    throw inputsError(
      'body',
      `the body is ${size} bytes, not a whole number of rows: each row is ${I} float32 values = ${rowBytes} bytes (little-endian)`,
      `expected a positive multiple of ${rowBytes} bytes`,
    );
  }
  const n = size / rowBytes;
  checkRowCount(n, t);
  checkCost(n, ckpt, t);
  const bytes = bodyBytes(t.body);
  const x = new Float32Array(n * I);
  if (endianness() === 'LE') {
    new Uint8Array(x.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < x.length; i++) x[i] = view.getFloat32(4 * i, true);
  }
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v >= -INPUT_BOUND && v <= INPUT_BOUND)) {
      const r = Math.floor(i / I);
      throw bodyError(`inputs.${r}.${i - r * I}`, `expected a number in [-1e30, 1e30], got ${v}`);
    }
  }
  return { ckpt, x, n };
}

/** An IDX images file: rows and width checked from its header before it is inflated or converted. */
async function idxInput(t: PredictTask): Promise<Rows> {
  const bytes = bodyBytes(t.body);
  const declared = idxImagesShape(bytes);
  if (declared !== null) checkRowCount(declared.n, t);
  const ckpt = await loadBest(t);
  const I = ckpt.inputWidth;
  if (declared !== null) {
    if (declared.features !== I) {
      throw inputsError('images.header', `images have shape [${declared.dims.slice(1).join(', ')}] = ${declared.features} values each; the model takes ${I} features`, `expected ${I} values per image`);
    }
    checkCost(declared.n, ckpt, t);
  }
  let parsed: { x: Float32Array; n: number };
  try {
    parsed = parseIdxImages(bytes, { maxBytes: t.maxUncompressed, features: I });
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    if (err.code === 'dataset_too_large') throw new ApiError('payload_too_large', err.message, { path: err.path });
    throw inputsError(err.path, err.message, err.message);
  }
  checkRowCount(parsed.n, t);
  checkCost(parsed.n, ckpt, t);
  return { ckpt, ...parsed };
}

const INPUTS: Record<PredictTask['format'], (t: PredictTask) => Promise<Rows>> = { json: jsonInput, f32: float32Input, idx: idxInput };

export async function runPredict(t: PredictTask): Promise<PredictResult> {
  const { ckpt, x, n } = await INPUTS[t.format](t);
  const { outputs, width, task } = predict(ckpt, x, n);
  // Binary cross-entropy with one unit is a classifier too: label = p ≥ 0.5.
  const classifier = task === 'classification';
  const out: PredictOutput[] = [];
  for (let r = 0; r < n; r++) {
    const row = Array.from(outputs.subarray(r * width, (r + 1) * width));
    if (!row.every(Number.isFinite)) {
      throw inputsError(`inputs.${r}`, `the model's output for row ${r} is not finite (inputs too large for this model?)`, 'non-finite output');
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
  // A buffer of its own (never Buffer's shared pool), so it can be transferred.
  return { body: new TextEncoder().encode(JSON.stringify({ outputs: out, checkpoint: { epoch: t.checkpoint.epoch, sha256: t.checkpoint.sha256 } })) };
}
