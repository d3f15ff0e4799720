// The plain TypeScript reference backend: GEMM with cache-friendly loop orders, small register
// blocks and float64 accumulation. Faster backends are checked against this one.

import type { Gemm, Kernels } from './kernels.js';

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

/** C[i·N + j] = alpha·sum + beta·C[i·N + j]. */
function store(C: Float32Array, c: number, sum: number, alpha: number, beta: number): void {
  C[c] = beta === 0 ? alpha * sum : alpha * sum + beta * C[c]!;
}

/** A (M×K) times Bᵀ (B is N×K): dot products of rows, blocked 4 rows × 2 columns so each load is reused. */
function gemmNT(M: number, N: number, K: number, alpha: number, A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void {
  let i = 0;
  for (; i + 3 < M; i += 4) {
    const a0 = i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    let j = 0;
    for (; j + 1 < N; j += 2) {
      const b0 = j * K;
      const b1 = b0 + K;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let k = 0; k < K; k++) {
        const y0 = B[b0 + k]!;
        const y1 = B[b1 + k]!;
        let x = A[a0 + k]!;
        s00 += x * y0;
        s01 += x * y1;
        x = A[a1 + k]!;
        s10 += x * y0;
        s11 += x * y1;
        x = A[a2 + k]!;
        s20 += x * y0;
        s21 += x * y1;
        x = A[a3 + k]!;
        s30 += x * y0;
        s31 += x * y1;
      }
      const c = i * N + j;
      store(C, c, s00, alpha, beta);
      store(C, c + 1, s01, alpha, beta);
      store(C, c + N, s10, alpha, beta);
      store(C, c + N + 1, s11, alpha, beta);
      store(C, c + 2 * N, s20, alpha, beta);
      store(C, c + 2 * N + 1, s21, alpha, beta);
      store(C, c + 3 * N, s30, alpha, beta);
      store(C, c + 3 * N + 1, s31, alpha, beta);
    }
    for (; j < N; j++) {
      const b0 = j * K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const y = B[b0 + k]!;
        s0 += A[a0 + k]! * y;
        s1 += A[a1 + k]! * y;
        s2 += A[a2 + k]! * y;
        s3 += A[a3 + k]! * y;
      }
      const c = i * N + j;
      store(C, c, s0, alpha, beta);
      store(C, c + N, s1, alpha, beta);
      store(C, c + 2 * N, s2, alpha, beta);
      store(C, c + 3 * N, s3, alpha, beta);
    }
  }
  for (; i < M; i++) {
    const a0 = i * K;
    for (let j = 0; j < N; j++) {
      const b0 = j * K;
      let sum = 0;
      for (let k = 0; k < K; k++) sum += A[a0 + k]! * B[b0 + k]!;
      store(C, i * N + j, sum, alpha, beta);
    }
  }
}

/**
 * acc[0..N) += Σ_t a_t · B[rows t], four rows of B (K×N) at a time, for k in [k0, k1): the rows are
 * B[k·N…], the coefficients A[aBase + k·aStride].
 */
function axpyRows(
  acc: Float64Array,
  accOffset: number,
  A: Float32Array,
  aBase: number,
  aStride: number,
  B: Float32Array,
  K: number,
  N: number,
): void {
  let k = 0;
  for (; k + 3 < K; k += 4) {
    const a0 = A[aBase + k * aStride]!;
    const a1 = A[aBase + (k + 1) * aStride]!;
    const a2 = A[aBase + (k + 2) * aStride]!;
    const a3 = A[aBase + (k + 3) * aStride]!;
    const b0 = k * N;
    const b1 = b0 + N;
    const b2 = b1 + N;
    const b3 = b2 + N;
    for (let j = 0; j < N; j++) {
      acc[accOffset + j]! += a0 * B[b0 + j]! + a1 * B[b1 + j]! + a2 * B[b2 + j]! + a3 * B[b3 + j]!;
    }
  }
  for (; k < K; k++) {
    const a = A[aBase + k * aStride]!;
    const b0 = k * N;
    for (let j = 0; j < N; j++) acc[accOffset + j]! += a * B[b0 + j]!;
  }
}

const gemm: Gemm = (transA, transB, M, N, K, alpha, A, B, beta, C) => {
  if (transB && !transA) {
    gemmNT(M, N, K, alpha, A, B, beta, C);
  } else if (!transB) {
    // i-k-j: row i of C accumulates rows of B (K×N), scaled by row i of A (M×K) or column i of A (K×M).
    const acc = accumulator(N);
    for (let i = 0; i < M; i++) {
      acc.fill(0, 0, N);
      if (transA) axpyRows(acc, 0, A, i, M, B, K, N);
      else axpyRows(acc, 0, A, i * K, 1, B, K, N);
      writeRow(C, i * N, acc, 0, N, alpha, beta);
    }
  } else {
    // Both transposed (rare): C[i,j] = Σ_k A[k,i]·B[j,k].
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const b0 = j * K;
        let sum = 0;
        for (let k = 0; k < K; k++) sum += A[k * M + i]! * B[b0 + k]!;
        store(C, i * N + j, sum, alpha, beta);
      }
    }
  }
};

export const jsKernels: Kernels = {
  name: 'js',
  threads: 1,
  alloc: (length: number) => new Float32Array(length),
  gemm,
};
