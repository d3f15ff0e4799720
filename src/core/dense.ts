// The dense (fully connected) layer as a forward/backward pair, like nn.Linear: W is [O × I].
// B batch, I inputs, O outputs. All products go through the Kernels backend.

import { byteInputsOf, type Kernels } from './kernels/kernels.js';

/** Z[B×O] = X[B×I]·Wᵀ + b. */
export function denseForward(
  k: Kernels,
  X: Float32Array,
  W: Float32Array,
  b: Float32Array | null,
  Z: Float32Array,
  B: number,
  I: number,
  O: number,
): void {
  if (b === null) {
    k.gemm(false, true, B, O, I, 1, X, W, 0, Z);
    return;
  }
  // Seed Z with the bias rows and let the GEMM add onto them (beta 1).
  const bias = b.length === O ? b : b.subarray(0, O); // one view, not one per row: no allocation per batch
  for (let r = 0; r < B; r++) Z.set(bias, r * O);
  k.gemm(false, true, B, O, I, 1, X, W, 1, Z);
}

/**
 * dW += dZᵀ·X; db += column sums of dZ; dX = dZ·W (overwritten; pass null for the first layer).
 * With `overwrite`, dW = dZᵀ·X and db = the column sums: the same bits as accumulating onto zeros
 * (a product summed from +0 is never −0, so adding it to +0 changes nothing), without a pass that
 * zeroes dW and without the product reading it back. X may be bytes (the first layer of a byte
 * mini-batch, whose dX is never wanted): the backend's ByteInputKernels then compute dW.
 */
export function denseBackward(
  k: Kernels,
  dZ: Float32Array,
  X: Float32Array | Uint8Array,
  W: Float32Array,
  dW: Float32Array,
  db: Float32Array | null,
  dX: Float32Array | null,
  B: number,
  I: number,
  O: number,
  overwrite = false,
): void {
  if (X instanceof Uint8Array) {
    byteInputsOf(k).weightGradient(dZ, X, dW, B, I, O, overwrite ? 0 : 1);
  } else {
    k.gemm(true, false, O, I, B, 1, dZ, X, overwrite ? 0 : 1, dW);
  }
  if (db !== null && overwrite) db.fill(0);
  if (db !== null && k.biasGradient) {
    k.biasGradient(dZ, db, B, O);
  } else if (db !== null) {
    for (let o = 0; o < O; o++) {
      let sum = 0;
      for (let r = 0; r < B; r++) sum += dZ[r * O + o]!;
      db[o]! += sum;
    }
  }
  if (dX !== null) k.gemm(false, false, B, I, O, 1, dZ, W, 0, dX);
}
