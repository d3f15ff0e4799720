// Dataset helpers the training loop needs: a seeded hold-out split and per-feature standardization
// (mean/std of the training split, applied identically at training time and in `predict`).
// N samples, I features.

import { CoreError } from './errors.js';
import { createRng, shuffleInPlace } from './rng.js';
import type { Dataset } from './types.js';

/** The split draws from its own stream, so it does not shift the training RNG. */
const SPLIT_STREAM = 0x5bd1e995;

/** What each byte of a byte-feature dataset stands for: Math.fround(b / 255), as IDX pixels always were. */
export const BYTE_VALUES = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** The features as float32: the array itself, or a converted copy of bytes. */
export function featureFloats(x: Float32Array | Uint8Array): Float32Array {
  if (x instanceof Float32Array) return x;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = BYTE_VALUES[x[i]!]!;
  return out;
}

/** A contiguous copy of ds's rows at these positions (through ds.rows when it is a view). */
function pickRows(ds: Dataset, rows: Int32Array): Dataset {
  const { features: I, targetWidth: T } = ds;
  const x = ds.x instanceof Uint8Array ? new Uint8Array(rows.length * I) : new Float32Array(rows.length * I);
  const y = new Float32Array(rows.length * T);
  for (let r = 0; r < rows.length; r++) {
    const src = ds.rows === undefined ? rows[r]! : ds.rows[rows[r]!]!;
    x.set(ds.x.subarray(src * I, (src + 1) * I), r * I);
    y.set(ds.y.subarray(src * T, (src + 1) * T), r * T);
  }
  return { x, y, n: rows.length, features: I, targetWidth: T };
}

/**
 * Splits off ceil(fraction · N) random rows as validation (sklearn's rounding). Rows keep their
 * original order within each part. Same dataset, fraction and seed ⇒ same split. With `inPlace`
 * the caller gives `ds` up: the training rows are moved to the front of its own arrays instead of
 * copied, so the split holds the rows once (plus the validation copy), not twice.
 */
export function splitHoldout<D extends Dataset>(ds: D, fraction: number, seed: number, inPlace = false): { train: D; validation: D } {
  const { train, validation } = holdoutRows(ds, fraction, seed);
  // The parts have ds's feature type (pickRows and compactRows keep it). A view's rows are copied.
  if (!inPlace || ds.rows !== undefined) return { train: pickRows(ds, train) as D, validation: pickRows(ds, validation) as D };
  const held = pickRows(ds, validation) as D;
  return { train: compactRows(ds, train) as D, validation: held };
}

/**
 * splitHoldout's split without moving a byte: both parts are views of ds's own arrays through
 * `rows` (the same rows, in the same order), so a split of a large dataset costs an index of its
 * rows rather than a copy of them. Training gathers mini-batches and validation chunks through the
 * rows as it would gather contiguous ones, with the same results; a run that standardizes features or
 * fits a regression copies its rows first (see createRun).
 */
export function holdoutViews<D extends Dataset>(ds: D, fraction: number, seed: number): { train: D; validation: D } {
  const { train, validation } = holdoutRows(ds, fraction, seed);
  const through = (rows: Int32Array): D => ({ ...ds, n: rows.length, rows: ds.rows === undefined ? rows : rows.map((r) => ds.rows![r]!) });
  return { train: through(train), validation: through(validation) };
}

/** Which of ds's rows (positions 0…n−1, ascending) go to each part. */
function holdoutRows(ds: Dataset, fraction: number, seed: number): { train: Int32Array; validation: Int32Array } {
  if (!(fraction > 0 && fraction < 1)) {
    throw new CoreError('validation.fraction', `validation fraction must be in (0, 1), got ${fraction}`);
  }
  const nVal = Math.ceil(fraction * ds.n);
  if (nVal >= ds.n) {
    throw new CoreError('validation.fraction', `validation fraction ${fraction} of ${ds.n} rows leaves no training rows`);
  }
  const perm = new Int32Array(ds.n);
  for (let i = 0; i < ds.n; i++) perm[i] = i;
  const rng = createRng(seed);
  rng.s[0] = (rng.s[0]! ^ SPLIT_STREAM) >>> 0;
  rng.s[1] = rng.s[1]! | 1;
  shuffleInPlace(rng, perm);
  // Each part in ascending order: marking the held-out positions and reading them back in order is
  // linear, where sorting the shuffled halves took most of a 60,000-row split's 6 ms.
  const held = new Uint8Array(ds.n);
  for (let i = 0; i < nVal; i++) held[perm[i]!] = 1;
  const validation = new Int32Array(nVal);
  const train = new Int32Array(ds.n - nVal);
  for (let r = 0, v = 0, t = 0; r < ds.n; r++) {
    if (held[r] === 1) validation[v++] = r;
    else train[t++] = r;
  }
  return { validation, train };
}

/** A contiguous copy of a view's rows (a dataset without `rows` is returned as it is). */
export function contiguous<D extends Dataset>(ds: D): D {
  if (ds.rows === undefined) return ds;
  return pickRows(ds, Int32Array.from({ length: ds.n }, (_, i) => i)) as D;
}

/** Moves `rows` (ascending) to the front of ds's own arrays: each row goes to an index ≤ its own, so nothing is overwritten before it is read. */
function compactRows(ds: Dataset, rows: Int32Array): Dataset {
  const { features: I, targetWidth: T } = ds;
  // One move per run of consecutive rows (a 10% hold-out leaves runs of about ten).
  for (let r = 0; r < rows.length; ) {
    const src = rows[r]!;
    let end = r + 1;
    while (end < rows.length && rows[end] === src + (end - r)) end++;
    if (src !== r) {
      ds.x.copyWithin(r * I, src * I, (src + end - r) * I);
      ds.y.copyWithin(r * T, src * T, (src + end - r) * T);
    }
    r = end;
  }
  return { x: ds.x.subarray(0, rows.length * I), y: ds.y.subarray(0, rows.length * T), n: rows.length, features: I, targetWidth: T };
}

export interface Standardization {
  mean: Float32Array;
  std: Float32Array;
}

/** Per-feature mean and population std (sklearn's StandardScaler), computed in float64 and stored as
 *  float32; a constant feature gets std 1 so it maps to 0 instead of dividing by zero. */
export function standardizationOf(x: Float32Array, N: number, I: number): Standardization {
  const mean = new Float64Array(I);
  const sq = new Float64Array(I);
  for (let i = 0; i < N; i++) for (let j = 0; j < I; j++) mean[j]! += x[i * I + j]!;
  for (let j = 0; j < I; j++) mean[j] = N > 0 ? mean[j]! / N : 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < I; j++) {
      const d = x[i * I + j]! - mean[j]!;
      sq[j]! += d * d;
    }
  }
  const std = new Float32Array(I);
  for (let j = 0; j < I; j++) {
    const s = Math.fround(N > 0 ? Math.sqrt(sq[j]! / N) : 0);
    std[j] = s > 0 && Number.isFinite(s) ? s : 1;
  }
  return { mean: Float32Array.from(mean), std };
}

/** out = (x − mean) / std per feature, from the float32 mean/std so training and `predict` agree bit for bit. */
export function standardize(x: Float32Array, N: number, I: number, s: Standardization, out: Float32Array): void {
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < I; j++) {
      const k = i * I + j;
      out[k] = (x[k]! - s.mean[j]!) / s.std[j]!;
    }
  }
}

/** A copy of `ds` with standardized float features; `ds` itself when `s` is null. */
export function standardized(ds: Dataset, s: Standardization | null): Dataset {
  if (s === null) return ds;
  // Bytes are converted once and standardized in that copy; float features keep their array.
  const raw = featureFloats(ds.x);
  const x = raw === ds.x ? new Float32Array(raw.length) : raw;
  standardize(raw, ds.n, ds.features, s, x);
  return { ...ds, x };
}
