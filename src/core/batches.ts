// Mini-batches of the training rows: the epoch's row order (shuffled from the run's RNG) and the
// gather buffers each batch is copied into (byte features become floats there, or stay bytes for a
// backend whose first layer reads them), so a step computes on contiguous rows and allocates nothing.
// B batch rows, I inputs, T target width, N samples.

import { BYTE_VALUES } from './data.js';
import { CoreError } from './errors.js';
import { byteInputsOf, type Kernels } from './kernels/kernels.js';
import { shuffleInPlace, type Rng } from './rng.js';
import type { Dataset } from './types.js';

export interface MiniBatches {
  /** Rows per mini-batch (the last one may hold fewer), and mini-batches per epoch. */
  size: number;
  count: number;
  /** Row order of the current epoch. */
  order: Int32Array;
  /**
   * The current batch's inputs [size × I]: floats, or with `byteInputs` the rows' bytes themselves
   * (ByteInputKernels: the first dense layer reads them) — and its targets [size × T].
   */
  X: Float32Array | Uint8Array;
  Y: Float32Array;
}

/**
 * The gather buffers come from the backend (`kernels.alloc`): the GEMMs read X in place. With
 * `byteInputs` (byte features, and a backend with ByteInputKernels) X holds bytes.
 */
export function createMiniBatches(rows: Dataset, batchSize: number | 'full', dropLast: boolean, kernels: Kernels, byteInputs = false): MiniBatches {
  const N = rows.n;
  const size = batchSize === 'full' ? N : Math.min(batchSize, N);
  return {
    size,
    count: dropLast ? Math.floor(N / size) : Math.ceil(N / size),
    order: new Int32Array(N),
    X: byteInputs ? new Uint8Array(size * rows.features) : kernels.alloc(size * rows.features),
    Y: kernels.alloc(size * rows.targetWidth),
  };
}

/**
 * This epoch's row order: 0…N−1, shuffled from `rng` when given (null: shuffling is off). For a view
 * (rows given) the positions then become its rows of the underlying arrays: position p is rows[p],
 * as it would be in a contiguous copy of the view, so the batches are the same.
 */
export function orderRows(batches: MiniBatches, rng: Rng | null, rows?: Int32Array): void {
  const order = batches.order;
  for (let i = 0; i < order.length; i++) order[i] = i;
  if (rng !== null) shuffleInPlace(rng, order);
  if (rows !== undefined) for (let i = 0; i < order.length; i++) order[i] = rows[order[i]!]!;
}

/** Copies mini-batch b's rows of `rows` into X and Y; returns its row count. */
export function gatherBatch(batches: MiniBatches, rows: Dataset, b: number, kernels: Kernels): number {
  const start = b * batches.size;
  const B = Math.min(batches.size, rows.n - start);
  gatherInto(kernels, rows, batches.order, start, B, batches.X, batches.Y);
  return B;
}

/** X and Y rows r < B = features and targets of ds's underlying row order[start + r] (bytes as floats, or as bytes into a byte X). */
export function gatherInto(kernels: Kernels, ds: Dataset, order: Int32Array, start: number, B: number, X: Float32Array | Uint8Array, Y: Float32Array): void {
  const T = ds.targetWidth;
  gatherFeatures(kernels, ds.x, ds.features, order, start, B, X);
  if (kernels.gatherRows) {
    kernels.gatherRows(ds.y, T, order, start, B, Y);
    return;
  }
  const y = ds.y;
  for (let r = 0; r < B; r++) {
    const src = order[start + r]!;
    for (let j = 0; j < T; j++) Y[r * T + j] = y[src * T + j]!;
  }
}

/** X row r = features of row order[start + r], as floats (bytes become byte / 255 here) or, into a byte X, as bytes. */
function gatherFeatures(k: Kernels, x: Float32Array | Uint8Array, I: number, order: Int32Array, start: number, B: number, X: Float32Array | Uint8Array): void {
  if (X instanceof Uint8Array) {
    if (!(x instanceof Uint8Array)) throw new CoreError('dataset', 'byte mini-batches need byte features');
    byteInputsOf(k).gatherRows(x, I, order, start, B, X);
    return;
  }
  if (x instanceof Uint8Array) {
    if (k.gatherByteRows) {
      k.gatherByteRows(x, I, order, start, B, X);
      return;
    }
    for (let r = 0; r < B; r++) {
      const src = order[start + r]!;
      for (let j = 0; j < I; j++) X[r * I + j] = BYTE_VALUES[x[src * I + j]!]!;
    }
    return;
  }
  if (k.gatherRows) {
    k.gatherRows(x, I, order, start, B, X);
    return;
  }
  // Element by element, so no per-row view is ever made (one per row cost 106 MB for 1M rows).
  for (let r = 0; r < B; r++) {
    const src = order[start + r]!;
    for (let j = 0; j < I; j++) X[r * I + j] = x[src * I + j]!;
  }
}
