// GEMM against a naive float64 reference, for every backend, all four transpose cases and several betas.

import { describe, expect, it } from 'vitest';
import type { GemmArgs } from '../../src/core/kernels/kernels.js';
import { randomArray as randomMatrix } from './gradcheck.js';
import { forEachBackend } from './backends.js';


function naiveGemm(...[transA, transB, M, N, K, alpha, A, B, beta, C]: GemmArgs): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * M + i]! : A[i * K + k]!;
        const b = transB ? B[j * K + k]! : B[k * N + j]!;
        sum += a * b;
      }
      out[i * N + j] = alpha * sum + (beta === 0 ? 0 : beta * C[i * N + j]!);
    }
  }
  return out;
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 9, 33],
  [64, 10, 128],
  [2, 100, 1],
];

for (const k of forEachBackend()) {
  describe(`gemm (${k.name})`, () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [M, N, K] of shapes) {
          for (const [alpha, beta] of [
            [1, 0],
            [1, 1],
            [0.5, -2],
          ] as const) {
            it(`transA=${transA} transB=${transB} ${M}x${N}x${K} alpha=${alpha} beta=${beta}`, () => {
              const A = k.alloc(M * K);
              A.set(randomMatrix(M * K, 1));
              const B = k.alloc(K * N);
              B.set(randomMatrix(K * N, 2));
              const C = k.alloc(M * N);
              C.set(randomMatrix(M * N, 3));
              const expected = naiveGemm(transA, transB, M, N, K, alpha, A, B, beta, C);
              k.gemm(transA, transB, M, N, K, alpha, A, B, beta, C);
              for (let i = 0; i < M * N; i++) {
                expect(Math.abs(C[i]! - expected[i]!)).toBeLessThanOrEqual(1e-5 * Math.sqrt(K) + 1e-6 * Math.abs(expected[i]!));
              }
            });
          }
        }
      }
    }

    it('beta 0 ignores NaN already in C', () => {
      const A = k.alloc(4);
      A.set([1, 2, 3, 4]);
      const B = k.alloc(4);
      B.set([1, 0, 0, 1]);
      const C = k.alloc(4);
      C.fill(Number.NaN);
      k.gemm(false, false, 2, 2, 2, 1, A, B, 0, C);
      expect(Array.from(C)).toEqual([1, 2, 3, 4]);
    });

    it('touches only the first M·N entries of a larger C', () => {
      const A = k.alloc(6);
      A.set([1, 2, 3, 4, 5, 6]);
      const B = k.alloc(6);
      B.set([1, 2, 3, 4, 5, 6]);
      const C = k.alloc(10);
      C.fill(7);
      k.gemm(false, true, 2, 2, 3, 1, A, B, 0, C);
      expect(Array.from(C)).toEqual([14, 32, 32, 77, 7, 7, 7, 7, 7, 7]);
    });
  });
}
