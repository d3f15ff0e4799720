// GEMM throughput of a backend on the MLP's shapes (forward X·Wᵀ, weight gradient dZᵀ·X).
import type { Kernels } from '../src/core/kernels/kernels.js';

export interface GemmShape {
  label: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

/** Layer 1 of MLP 784-128-10 at batch B: forward Z = X·Wᵀ and the weight gradient dW = dZᵀ·X. */
export function mlpShapes(batchSizes: number[]): GemmShape[] {
  return batchSizes.flatMap((B) => [
    { label: `forward B=${B}`, M: B, N: 128, K: 784, transA: false, transB: true },
    { label: `weight-grad B=${B}`, M: 128, N: 784, K: B, transA: true, transB: false },
  ]);
}

function filled(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return a;
}

/**
 * GFLOP/s: the best of short trials (≈ 10 ms each) over about `seconds`, after a warm-up. The best
 * trial shows what the kernel does when the machine lets it run; bench/baseline.py measures the
 * same way.
 */
export function measureGemm(k: Kernels, s: GemmShape, seconds: number): number {
  const A = k.alloc(s.M * s.K);
  A.set(filled(s.M * s.K));
  const B = k.alloc(s.K * s.N);
  B.set(filled(s.K * s.N));
  const C = k.alloc(s.M * s.N);
  for (let i = 0; i < 3; i++) k.gemm(s.transA, s.transB, s.M, s.N, s.K, 1, A, B, 0, C);
  const flop = 2 * s.M * s.N * s.K;
  const perTrial = Math.max(1, Math.round(0.01 / (flop / 50e9)));
  const start = performance.now();
  let best = 0;
  do {
    const t0 = performance.now();
    for (let r = 0; r < perTrial; r++) k.gemm(s.transA, s.transB, s.M, s.N, s.K, 1, A, B, 0, C);
    best = Math.max(best, (flop * perTrial) / ((performance.now() - t0) / 1000) / 1e9);
  } while ((performance.now() - start) / 1000 < seconds);
  return best;
}
