// Dataset helpers the training loop needs: a seeded hold-out split and per-feature standardization
// (mean/std of the training split, applied identically at training time and in `predict`).
// N samples, I features.

import { CoreError } from './errors.js';
import { createRng, shuffleInPlace } from './rng.js';
import type { Dataset } from './types.js';

/** The split draws from its own stream, so it does not shift the training RNG. */
const SPLIT_STREAM = 0x5bd1e995;

function pickRows(ds: Dataset, rows: Int32Array): Dataset {
  const { features: I, targetWidth: T } = ds;
  const x = new Float32Array(rows.length * I);
  const y = new Float32Array(rows.length * T);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r]!;
    x.set(ds.x.subarray(src * I, (src + 1) * I), r * I);
    y.set(ds.y.subarray(src * T, (src + 1) * T), r * T);
  }
  return { x, y, n: rows.length, features: I, targetWidth: T };
}

/**
 * Splits off ceil(fraction · N) random rows as validation (sklearn's rounding). Rows keep their
 * original order within each part. Same dataset, fraction and seed ⇒ same split.
 */
export function splitHoldout(ds: Dataset, fraction: number, seed: number): { train: Dataset; validation: Dataset } {
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
  const validation = perm.slice(0, nVal).sort();
  const train = perm.slice(nVal).sort();
  return { train: pickRows(ds, train), validation: pickRows(ds, validation) };
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
