// The fused dense passes (bias and ReLU in the GEMM's output pass) must give exactly the bits of the
// separate GEMM, bias and activation calls they replace, on every backend and build that has them,
// and a training run with them must equal one without them byte for byte.
import { describe, expect, it } from 'vitest';

import { activationBackward, activationForward } from '../../../src/core/activations.js';
import { denseForward } from '../../../src/core/dense.js';
import type { Kernels } from '../../../src/core/kernels/kernels.js';
import { createNativeKernels, nativeIsas } from '../../../src/core/kernels/native.js';
import { availableBackends } from '../../../src/core/kernels/select.js';
import { train } from '../../../src/core/train.js';
import { randomArray } from '../gradcheck.js';
import { config, dense, spirals } from '../train-helpers.js';

const fused: Kernels[] = [
  ...availableBackends(1),
  ...availableBackends(2).filter((k) => k.threads === 2),
  ...nativeIsas()
    .slice(1)
    .map((isa) => createNativeKernels(1, isa)!),
].filter((k) => k.denseForward !== undefined);

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The same backend without its fused passes: what the model runs when a backend lacks them. */
function unfused(k: Kernels): Kernels {
  const { denseForward: _f, denseInputGradientRelu: _b, ...rest } = k;
  return rest;
}

/** Values with the edge cases ReLU must treat as the TypeScript loop does: NaN, +0 and −0. */
function withEdges(n: number, seed: number): Float32Array {
  const a = randomArray(n, seed);
  for (let i = 0; i + 3 < n; i += 97) {
    a[i] = 0;
    a[i + 1] = -0;
    a[i + 2] = Number.NaN;
  }
  return a;
}

// [B, I, O]: single row; batch 32 (computed transposed on one thread); row and column counts off the
// tile grid; I spanning several k blocks; the benchmark's batch 1024 layer (split across threads);
// outputs fewer than the GEMM tile's columns (without ReLU these run on the inference kernel): the
// benchmark's output layer, 17 outputs over uneven k blocks, and enough rows to split across threads.
const shapes: [number, number, number][] = [
  [1, 5, 3],
  [32, 784, 128],
  [37, 45, 301],
  [130, 784, 128],
  [7, 1000, 37],
  [1024, 784, 128],
  [1024, 128, 10],
  [33, 700, 17],
  [4099, 300, 10],
];

it('the native backend offers the fused dense passes when it loads', () => {
  const native = availableBackends(1).find((k) => k.name.startsWith('native'));
  if (native === undefined) return expect(fused).toEqual([]);
  expect(native.denseForward).toBeTypeOf('function');
  expect(native.denseInputGradientRelu).toBeTypeOf('function');
});

for (const k of fused) {
  describe(`fused dense passes of ${k.name} × ${k.threads} thread(s)`, () => {
    for (const [B, I, O] of shapes) {
      it(`forward ${B}×${I}→${O}: Z and relu(Z) equal the GEMM with the bias seeded, then the activation`, () => {
        const X = withEdges(B * I, 1);
        const W = randomArray(O * I, 2);
        W.fill(0, 0, I); // output 0 is the bias alone: ±0 and NaN reach the ReLU through it
        for (const b of [null, withEdges(O, 3)]) {
          const Z = new Float32Array(B * O).fill(7);
          const A = new Float32Array(B * O).fill(7);
          k.denseForward!(X, W, b, Z, A, B, I, O);
          const wantZ = new Float32Array(B * O);
          const wantA = new Float32Array(B * O);
          denseForward(k, X, W, b, wantZ, B, I, O);
          activationForward('relu', wantZ, wantA, B, O);
          expect(sameBits(Z, wantZ)).toBe(true);
          expect(sameBits(A, wantA)).toBe(true);
          // Linear: Z alone.
          const Zl = new Float32Array(B * O).fill(7);
          k.denseForward!(X, W, b, Zl, null, B, I, O);
          expect(sameBits(Zl, wantZ)).toBe(true);
        }
      });

      it(`input gradient ${B}×${O}→${I} with the ReLU derivative of the layer below equals the GEMM then reluBackward`, () => {
        const dZ = randomArray(B * O, 4);
        const W = randomArray(O * I, 5);
        const mask = withEdges(B * I, 6);
        const dX = new Float32Array(B * I).fill(7);
        k.denseInputGradientRelu!(dZ, W, mask, dX, B, I, O);
        const want = new Float32Array(B * I);
        k.gemm(false, false, B, I, O, 1, dZ, W, 0, want);
        activationBackward('relu', mask, mask, want, want, B, I);
        expect(sameBits(dX, want)).toBe(true);
      });
    }

    it('refuses buffers shorter than the dimensions', () => {
      const X = new Float32Array(4 * 3);
      const W = new Float32Array(2 * 3);
      expect(() => k.denseForward!(X, W, new Float32Array(1), new Float32Array(8), null, 4, 3, 2)).toThrow(RangeError);
      expect(() => k.denseForward!(X, W, null, new Float32Array(8), new Float32Array(7), 4, 3, 2)).toThrow(RangeError);
      expect(() => k.denseInputGradientRelu!(new Float32Array(8), W, new Float32Array(11), new Float32Array(12), 4, 3, 2)).toThrow(RangeError);
    });

    it('trains to the same checkpoint bytes and metrics with and without the fused passes', async () => {
      const data = { train: spirals(200, 0.1), validation: spirals(60, 0.1, 9) };
      const cfg = config({ layers: [dense(40, 'relu'), dense(33, 'relu'), dense(2)], epochs: 3, batchSize: 50 });
      const a = await train(cfg, data, {}, { kernels: k });
      const b = await train(cfg, data, {}, { kernels: unfused(k) });
      expect(a.last!.loss).toBe(b.last!.loss);
      expect(a.checkpoint).toEqual(b.checkpoint);
    });
  });
}
