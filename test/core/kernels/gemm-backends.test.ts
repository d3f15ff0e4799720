// Every available GEMM backend (and thread count) against a float64 reference: all transpose cases,
// sizes that straddle the tile and cache-block sizes, alpha/beta cases, views, determinism.
import { describe, expect, it } from 'vitest';

import type { GemmArgs, Kernels } from '../../../src/core/kernels/kernels.js';
import { createNativeKernels, nativeFmaPeak, nativeIsas } from '../../../src/core/kernels/native.js';
import { availableBackends, createBackend, selectKernels } from '../../../src/core/kernels/select.js';
import { randomArray as randomMatrix } from '../gradcheck.js';


/** The exact product in float64 and, per entry, Σ|terms| to scale the float32 tolerance. */
function reference(...[transA, transB, M, N, K, alpha, A, B, beta, C]: GemmArgs): { value: Float64Array; scale: Float64Array } {
  const value = new Float64Array(M * N);
  const scale = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      let abs = 0;
      for (let k = 0; k < K; k++) {
        const p = (transA ? A[k * M + i]! : A[i * K + k]!) * (transB ? B[j * K + k]! : B[k * N + j]!);
        sum += p;
        abs += Math.abs(p);
      }
      const c = beta === 0 ? 0 : beta * C[i * N + j]!;
      value[i * N + j] = alpha * sum + c;
      scale[i * N + j] = Math.abs(alpha) * abs + Math.abs(c);
    }
  }
  return { value, scale };
}

// Float32 rounding: each sum of K products carries at most ≈ K·2⁻²⁴ relative to Σ|terms|; blocked
// and pairwise orders do much better, so √K·4·2⁻²⁴ with headroom still catches any indexing error.
function tolerance(K: number, scale: number): number {
  return 8 * 2 ** -24 * (Math.sqrt(K) + 2) * scale + 1e-7;
}

// Backends with each thread count worth testing, and the narrower native builds this CPU also runs
// (AVX2, portable) so they are checked here too.
const backends: Kernels[] = [
  ...availableBackends(1),
  ...availableBackends(2).filter((k) => k.threads === 2),
  ...nativeIsas()
    .slice(1)
    .map((isa) => createNativeKernels(1, isa)!),
];

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 3],
  [5, 3, 1],
  [7, 13, 5],
  [33, 65, 300], // K spans two cache blocks
  [13, 40, 1000],
  [150, 70, 260], // M spans two row blocks
  [3, 1100, 9], // N spans two column blocks
  [64, 128, 64], // exact multiples of the tiles
];

it('lists js and at least one fast backend, and selectKernels picks the first available', () => {
  const names = availableBackends(1).map((k) => k.name);
  expect(names).toContain('js');
  expect(names.length).toBeGreaterThanOrEqual(2);
  expect(selectKernels().name).toBe(names[0]);
  expect(selectKernels({ prefer: 'js' }).name).toBe('js');
  expect(() => createBackend('native', 0)).toThrow(/threads/);
});

it.runIf(nativeIsas().length > 0)('native names its build and refuses one the CPU lacks', () => {
  const isas = nativeIsas();
  expect(isas[isas.length - 1]).toBe('generic');
  expect(createBackend('native', 1)!.name).toBe(`native-${isas[0]}`);
  expect(() => createNativeKernels(1, 'sse9')).toThrow(RangeError);
});

// The benchmark's "% of peak" rests on these: a clock and FMA figures any x86-64 core could give.
it.runIf(nativeIsas()[0] === 'avx512' || nativeIsas()[0] === 'avx2')('native measures the FMA peak of its build: clock, latency and units in range', () => {
  const p = nativeFmaPeak()!;
  expect(p.lanes).toBe(nativeIsas()[0] === 'avx512' ? 16 : 8);
  expect(p.clockGHz).toBeGreaterThan(0.5);
  expect(p.clockGHz).toBeLessThan(8);
  expect(p.fmaLatencyCycles).toBeGreaterThan(2);
  expect(p.fmaLatencyCycles).toBeLessThan(8);
  expect(p.fmaPerCycle).toBeGreaterThan(0.5);
  expect(p.fmaPerCycle).toBeLessThan(4.5);
});

it.runIf(createBackend('native', 1) !== null)('native alloc gives buffers of 2 MiB and more zeroed and whole (on huge pages), and GEMMs on them give the same bits', () => {
  const k = createBackend('native', 1)!;
  const [M, N, K] = [1024, 64, 600]; // A is 2.3 MiB
  const big = k.alloc(M * K);
  expect(big.length).toBe(M * K);
  expect(big.byteOffset).toBe(0);
  expect(big.every((v) => v === 0)).toBe(true);
  const A = randomMatrix(M * K, 21);
  big.set(A);
  const B = randomMatrix(K * N, 22);
  const viaBig = new Float32Array(M * N);
  const viaPlain = new Float32Array(M * N);
  k.gemm(false, false, M, N, K, 1, big, B, 0, viaBig);
  k.gemm(false, false, M, N, K, 1, A, B, 0, viaPlain);
  expect(Buffer.from(viaBig.buffer).equals(Buffer.from(viaPlain.buffer))).toBe(true);
  expect(k.alloc(10).length).toBe(10);
});

for (const k of backends) {
  describe(`gemm ${k.name} × ${k.threads} thread(s)`, () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`matches float64 for transA=${transA} transB=${transB}`, () => {
          let seed = 10;
          for (const [M, N, K] of shapes) {
            for (const [alpha, beta] of [
              [1, 0],
              [1, 1],
              [-0.5, 2],
            ] as const) {
              const A = randomMatrix(M * K, seed++);
              const B = randomMatrix(K * N, seed++);
              const C = randomMatrix(M * N, seed++);
              const ref = reference(transA, transB, M, N, K, alpha, A, B, beta, C);
              k.gemm(transA, transB, M, N, K, alpha, A, B, beta, C);
              for (let i = 0; i < M * N; i++) {
                const err = Math.abs(C[i]! - ref.value[i]!);
                if (!(err <= tolerance(K, ref.scale[i]!))) {
                  expect.fail(`${M}x${N}x${K} alpha=${alpha} beta=${beta}: C[${i}]=${C[i]} expected ${ref.value[i]}`);
                }
              }
            }
          }
        });
      }
    }

    it('beta 0 ignores NaN in C; K 0 scales C by beta', () => {
      const A = randomMatrix(20 * 30, 1);
      const B = randomMatrix(30 * 40, 2);
      const C = new Float32Array(20 * 40).fill(NaN);
      k.gemm(false, false, 20, 40, 30, 1, A, B, 0, C);
      expect(C.every(Number.isFinite)).toBe(true);
      const D = new Float32Array([1, 2, 3, 4]);
      k.gemm(false, false, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 3, D);
      expect(Array.from(D)).toEqual([3, 6, 9, 12]);
    });

    it('reads only the leading M·K / K·N / M·N elements of longer arrays and views', () => {
      const M = 9;
      const N = 17;
      const K = 11;
      const backing = randomMatrix(5 + M * K + 7, 3);
      const A = backing.subarray(5, 5 + M * K + 3);
      const B = randomMatrix(K * N + 4, 4);
      const C = new Float32Array(M * N + 6).fill(7);
      const ref = reference(false, false, M, N, K, 1, A, B, 0, C);
      k.gemm(false, false, M, N, K, 1, A, B, 0, C);
      for (let i = 0; i < M * N; i++) expect(Math.abs(C[i]! - ref.value[i]!)).toBeLessThanOrEqual(tolerance(K, ref.scale[i]!));
      expect(Array.from(C.subarray(M * N))).toEqual([7, 7, 7, 7, 7, 7]);
    });

    it('gives bit-identical results on repeated calls (MLP shapes)', () => {
      for (const [transA, transB, M, N, K] of [
        [false, true, 130, 128, 784],
        [true, false, 128, 784, 130],
        [false, false, 130, 128, 10],
      ] as const) {
        const A = randomMatrix(M * K, 5);
        const B = randomMatrix(K * N, 6);
        const first = new Float32Array(M * N);
        k.gemm(transA, transB, M, N, K, 1, A, B, 0, first);
        for (let rep = 0; rep < 3; rep++) {
          const again = new Float32Array(M * N);
          k.gemm(transA, transB, M, N, K, 1, A, B, 0, again);
          expect(Buffer.from(again.buffer).equals(Buffer.from(first.buffer))).toBe(true);
        }
      }
    });
  });
}

it.runIf(createBackend('native', 1) !== null)('native X·Wᵀ (with few rows computed as (W·Xᵀ)ᵀ; else Wᵀ packed in 16×16 register transposes) equals X·(Wᵀ materialized) bit for bit', () => {
  const k = createBackend('native', 1)!;
  for (const [M, N, K] of [
    [32, 128, 784],
    [3, 100, 37],
    [17, 300, 600],
    [128, 128, 784],
    [130, 70, 263],
    [1024, 128, 784],
  ] as const) {
    const X = randomMatrix(M * K, 11);
    const W = randomMatrix(N * K, 12);
    const Wt = new Float32Array(K * N);
    for (let n = 0; n < N; n++) for (let kk = 0; kk < K; kk++) Wt[kk * N + n] = W[n * K + kk]!;
    const viaT = randomMatrix(M * N, 13);
    const direct = viaT.slice();
    k.gemm(false, true, M, N, K, 0.5, X, W, 1, viaT);
    k.gemm(false, false, M, N, K, 0.5, X, Wt, 1, direct);
    expect(Buffer.from(viaT.buffer).equals(Buffer.from(direct.buffer))).toBe(true);
  }
});

describe('thread count', () => {
  it.runIf(createBackend('native', 2) !== null)('a just-created thread pool runs its first GEMM (no lost wake-up)', () => {
    const A = randomMatrix(512 * 300, 1);
    const B = randomMatrix(300 * 256, 2);
    const C = new Float32Array(512 * 256);
    const ref = new Float32Array(512 * 256);
    createBackend('native', 1)!.gemm(false, false, 512, 256, 300, 1, A, B, 0, ref);
    for (let i = 0; i < 50; i++) {
      createBackend('native', 2)!.gemm(false, false, 512, 256, 300, 1, A, B, 0, C);
      expect(C[12345]).toBe(ref[12345]);
    }
  });

  for (const kind of ['native', 'wasm'] as const) {
    const one = createBackend(kind, 1);
    const two = createBackend(kind, 2);
    it.runIf(one !== null && two !== null)(`${kind} gives the same bits with 1 and 2 threads (work split by whole tiles)`, () => {
      for (const [transA, transB, M, N, K] of [
        [false, true, 1024, 128, 784],
        [true, false, 128, 784, 1024],
        [false, false, 77, 301, 45],
      ] as const) {
        const A = randomMatrix(M * K, 7);
        const B = randomMatrix(K * N, 8);
        const c1 = randomMatrix(M * N, 9);
        const c2 = c1.slice();
        one!.gemm(transA, transB, M, N, K, 1, A, B, 1, c1);
        two!.gemm(transA, transB, M, N, K, 1, A, B, 1, c2);
        expect(Buffer.from(c1.buffer).equals(Buffer.from(c2.buffer))).toBe(true);
      }
    });
  }
});

it('rejects buffers shorter than the dimensions on the fast backends', () => {
  for (const k of backends.filter((b) => b.name !== 'js')) {
    expect(() => k.gemm(false, false, 4, 4, 4, 1, new Float32Array(15), new Float32Array(16), 0, new Float32Array(16))).toThrow(
      RangeError,
    );
  }
});
