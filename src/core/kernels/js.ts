// The plain TypeScript reference backend: a straightforward GEMM with cache-friendly loop orders
// and float64 accumulation. Faster backends are checked against this one.

import type { Kernels } from './kernels.js';

// Float64 accumulators, grown on demand and reused, so steady-state calls allocate nothing.
let scratch = new Float64Array(0);

function accumulator(length: number): Float64Array {
  if (scratch.length < length) scratch = new Float64Array(length);
  scratch.fill(0, 0, length);
  return scratch;
}

/** C[i·N + j] = alpha·acc + beta·C, with beta 0 ignoring C's contents (NaN included), as BLAS does. */
function writeRow(C: Float32Array, offset: number, acc: Float64Array, accOffset: number, N: number, alpha: number, beta: number): void {
  if (beta === 0) {
    for (let j = 0; j < N; j++) C[offset + j] = alpha * acc[accOffset + j]!;
  } else {
    for (let j = 0; j < N; j++) C[offset + j] = alpha * acc[accOffset + j]! + beta * C[offset + j]!;
  }
}

function gemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  B: Float32Array,
  beta: number,
  C: Float32Array,
): void {
  if (!transA && !transB) {
    // i-k-j: the inner loop streams a row of B into one accumulator row.
    const acc = accumulator(N);
    for (let i = 0; i < M; i++) {
      acc.fill(0, 0, N);
      const aRow = i * K;
      for (let k = 0; k < K; k++) {
        const a = A[aRow + k]!;
        const bRow = k * N;
        for (let j = 0; j < N; j++) acc[j]! += a * B[bRow + j]!;
      }
      writeRow(C, i * N, acc, 0, N, alpha, beta);
    }
  } else if (!transA && transB) {
    // i-j-k: both operands are read along contiguous rows (a dot product per entry).
    for (let i = 0; i < M; i++) {
      const aRow = i * K;
      const cRow = i * N;
      for (let j = 0; j < N; j++) {
        const bRow = j * K;
        let sum = 0;
        for (let k = 0; k < K; k++) sum += A[aRow + k]! * B[bRow + k]!;
        C[cRow + j] = beta === 0 ? alpha * sum : alpha * sum + beta * C[cRow + j]!;
      }
    }
  } else if (transA && !transB) {
    // k-i-j over a whole M×N accumulator: A (K×M) and B (K×N) are both read row by row.
    const acc = accumulator(M * N);
    for (let k = 0; k < K; k++) {
      const aRow = k * M;
      const bRow = k * N;
      for (let i = 0; i < M; i++) {
        const a = A[aRow + i]!;
        const accRow = i * N;
        for (let j = 0; j < N; j++) acc[accRow + j]! += a * B[bRow + j]!;
      }
    }
    for (let i = 0; i < M; i++) writeRow(C, i * N, acc, i * N, N, alpha, beta);
  } else {
    // Both transposed (rare): C[i,j] = Σ_k A[k,i]·B[j,k].
    for (let i = 0; i < M; i++) {
      const cRow = i * N;
      for (let j = 0; j < N; j++) {
        const bRow = j * K;
        let sum = 0;
        for (let k = 0; k < K; k++) sum += A[k * M + i]! * B[bRow + k]!;
        C[cRow + j] = beta === 0 ? alpha * sum : alpha * sum + beta * C[cRow + j]!;
      }
    }
  }
}

export const jsKernels: Kernels = {
  name: 'js',
  threads: 1,
  alloc: (length: number) => new Float32Array(length),
  gemm,
};
