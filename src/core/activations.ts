// Activations as forward/backward pairs over row-major [rows × cols] buffers: A = f(Z) and
// dZ = f'(Z)·dA (softmax row-wise with its Jacobian). dZ is overwritten and may alias dA.

import type { Activation } from './types.js';
import { erfc } from './erf.js';

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

/** leaky_relu's negative slope 0.01 (PyTorch, Keras 3) and elu's alpha 1. */
export function defaultAlpha(kind: Activation): number {
  return kind === 'leaky_relu' ? 0.01 : 1;
}

/** Numerically stable logistic: never exponentiates a positive number. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Φ(z), the standard normal CDF, through erfc so the left tail keeps its relative precision. */
function normalCdf(z: number): number {
  return 0.5 * erfc(-z * INV_SQRT2);
}

/** Row-wise softmax, max-subtracted. Safe when A aliases Z. */
export function softmaxRows(Z: Float32Array, A: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, Z[off + j]!);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(Z[off + j]! - max);
      A[off + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) A[off + j]! *= inv;
  }
}

export function activationForward(
  kind: Activation,
  Z: Float32Array,
  A: Float32Array,
  rows: number,
  cols: number,
  alpha: number = defaultAlpha(kind),
): void {
  const n = rows * cols;
  switch (kind) {
    case 'linear':
      if (A !== Z) A.set(Z.subarray(0, n));
      return;
    case 'relu':
      for (let i = 0; i < n; i++) {
        const z = Z[i]!;
        A[i] = z > 0 ? z : 0;
      }
      return;
    case 'leaky_relu':
      for (let i = 0; i < n; i++) {
        const z = Z[i]!;
        A[i] = z > 0 ? z : alpha * z;
      }
      return;
    case 'elu':
      for (let i = 0; i < n; i++) {
        const z = Z[i]!;
        A[i] = z > 0 ? z : alpha * Math.expm1(z);
      }
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) A[i] = sigmoid(Z[i]!);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) A[i] = Math.tanh(Z[i]!);
      return;
    case 'gelu':
      // The exact form, 0.5·z·(1 + erf(z/√2)) = z·Φ(z), as PyTorch's default nn.GELU.
      for (let i = 0; i < n; i++) {
        const z = Z[i]!;
        A[i] = z * normalCdf(z);
      }
      return;
    case 'softmax':
      softmaxRows(Z, A, rows, cols);
      return;
  }
}

export function activationBackward(
  kind: Activation,
  Z: Float32Array,
  A: Float32Array,
  dA: Float32Array,
  dZ: Float32Array,
  rows: number,
  cols: number,
  alpha: number = defaultAlpha(kind),
): void {
  const n = rows * cols;
  switch (kind) {
    case 'linear':
      if (dZ !== dA) dZ.set(dA.subarray(0, n));
      return;
    case 'relu':
      // Gradient 0 at z = 0, as PyTorch.
      for (let i = 0; i < n; i++) dZ[i] = Z[i]! > 0 ? dA[i]! : 0;
      return;
    case 'leaky_relu':
      for (let i = 0; i < n; i++) dZ[i] = Z[i]! > 0 ? dA[i]! : alpha * dA[i]!;
      return;
    case 'elu':
      for (let i = 0; i < n; i++) {
        const z = Z[i]!;
        dZ[i] = z > 0 ? dA[i]! : alpha * Math.exp(z) * dA[i]!;
      }
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const a = A[i]!;
        dZ[i] = a * (1 - a) * dA[i]!;
      }
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) {
        const a = A[i]!;
        dZ[i] = (1 - a * a) * dA[i]!;
      }
      return;
    case 'gelu':
      // d/dz z·Φ(z) = Φ(z) + z·φ(z).
      for (let i = 0; i < n; i++) {
        const z = Z[i]!;
        dZ[i] = (normalCdf(z) + z * INV_SQRT_2PI * Math.exp(-0.5 * z * z)) * dA[i]!;
      }
      return;
    case 'softmax':
      // dZ_j = A_j·(dA_j − Σ_k A_k·dA_k), per row.
      for (let r = 0; r < rows; r++) {
        const off = r * cols;
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += A[off + j]! * dA[off + j]!;
        for (let j = 0; j < cols; j++) dZ[off + j] = A[off + j]! * (dA[off + j]! - dot);
      }
      return;
  }
}
