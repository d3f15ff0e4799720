// The optional element-wise kernels must give exactly the bits of the TypeScript loops they
// replace (activations.ts, dense.ts, optimizers.ts, train.ts's gather), for every backend that has them.
import { describe, expect, it } from 'vitest';

import { activationBackward, activationForward } from '../../../src/core/activations.js';
import { denseBackward } from '../../../src/core/dense.js';
import { jsKernels } from '../../../src/core/kernels/js.js';
import type { Kernels } from '../../../src/core/kernels/kernels.js';
import { createNativeKernels, nativeIsas } from '../../../src/core/kernels/native.js';
import { availableBackends } from '../../../src/core/kernels/select.js';
import type { Param } from '../../../src/core/model.js';
import { createOptimizerState, optimizerStep } from '../../../src/core/optimizers.js';
import { createRng, nextFloat } from '../../../src/core/rng.js';
import type { Activation } from '../../../src/core/types.js';

function values(n: number, seed: number, scale = 3): Float32Array {
  const r = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (nextFloat(r) * 2 - 1) * scale;
  // Edge values the branches must treat alike: signed zeros and NaN.
  out[0] = 0;
  if (n > 1) out[1] = -0;
  if (n > 2) out[2] = NaN;
  return out;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

// The addon's narrower builds too: the byte gather converts differently on each (elementwise.c).
const narrowerNative = nativeIsas()
  .slice(1)
  .flatMap((isa) => [createNativeKernels(1, isa), createNativeKernels(2, isa)])
  .filter((k): k is Kernels => k !== null);
const backends = [...availableBackends(1), ...availableBackends(2).filter((k) => k.threads === 2), ...narrowerNative].filter(
  (k) => k.activationForward !== undefined || k.sgdStep !== undefined,
);
const kinds: Activation[] = ['linear', 'relu', 'leaky_relu', 'elu', 'sigmoid', 'tanh', 'gelu', 'softmax'];

// Without the addon these are reported as skipped, not passed with nothing asserted.
const nativeBackend = availableBackends(1).find((k) => k.name.startsWith('native'));

it.runIf(nativeBackend !== undefined)('the native backend offers the element-wise kernels when it loads', () => {
  const native = nativeBackend!;
  expect(native.activationForward).toBeTypeOf('function');
  expect(native.sgdStep).toBeTypeOf('function');
  expect(native.biasGradient).toBeTypeOf('function');
  expect(native.gatherRows).toBeTypeOf('function');
});

for (const k of backends) {
  describe(`element-wise kernels of ${k.name} × ${k.threads} thread(s)`, () => {
    const n = 1037;
    for (const kind of kinds) {
      it(`${kind}: forward and backward equal the TypeScript loops bit for bit (or decline)`, () => {
        const alpha = kind === 'leaky_relu' ? 0.01 : 1;
        const Z = values(n, 1);
        const expectA = new Float32Array(n);
        activationForward(kind, Z, expectA, 1, n, alpha);
        const A = new Float32Array(n).fill(7);
        if (k.activationForward?.(kind, Z, A, n, alpha) === true) expect(sameBits(A, expectA)).toBe(true);
        else expect(A.every((v) => v === 7)).toBe(true);

        const dA = values(n, 2);
        const expectDZ = new Float32Array(n);
        activationBackward(kind, Z, expectA, dA, expectDZ, 1, n, alpha);
        const dZ = new Float32Array(n);
        if (k.activationBackward?.(kind, Z, expectA, dA, dZ, n, alpha) === true) {
          expect(sameBits(dZ, expectDZ)).toBe(true);
          // In place, as the model does for linear layers.
          const inPlace = dA.slice();
          expect(k.activationBackward(kind, Z, expectA, inPlace, inPlace, n, alpha)).toBe(true);
          expect(sameBits(inPlace, expectDZ)).toBe(true);
        }
      });
    }

    it.runIf(k.biasGradient !== undefined)('biasGradient equals dense.ts column sums, accumulating into db', () => {
      const B = 67;
      const O = 600; // wider than one column block
      const I = 3;
      const dZ = values(B * O, 3).map((v) => (Number.isNaN(v) ? 0.5 : v));
      const start = values(O, 4).map((v) => (Number.isNaN(v) ? 1 : v));
      const expected = start.slice();
      denseBackward(jsKernels, dZ, new Float32Array(B * I), new Float32Array(O * I), new Float32Array(O * I), expected, null, B, I, O);
      const db = start.slice();
      k.biasGradient!(dZ, db, B, O);
      expect(sameBits(db, expected)).toBe(true);
    });

    // On two threads the addon splits the update only after a product it split (the gradient is then
    // spread over both cores): a product of 4.2M multiply-adds before each step takes that path.
    const splitProduct = () => k.gemm(false, false, 256, 128, 128, 1, values(256 * 128, 3), values(128 * 128, 4), 0, new Float32Array(256 * 128));
    for (const [momentum, nesterov, afterSplit] of [
      [0, false, false],
      [0.9, false, false],
      [0.9, true, false],
      [0.9, false, true],
      [0.9, true, true],
    ] as const) {
      const after = afterSplit ? ', each after a large product' : '';
      it.runIf(k.sgdStep !== undefined)(`sgdStep equals optimizers.ts (momentum ${momentum}, nesterov ${nesterov}) over several steps${after}`, () => {
        const cfg = { type: 'sgd' as const, momentum, nesterov };
        const n2 = 70001; // above the size at which threads split the pass
        const make = (): Param => ({ name: 'w', shape: [n2], data: values(n2, 5).map((v) => (Number.isNaN(v) ? 0 : v)), grad: new Float32Array(n2), isWeight: true });
        const ref = make();
        const ours = make();
        const refState = createOptimizerState(cfg, [ref]);
        const buf = momentum > 0 ? new Float32Array(n2) : null;
        for (let step = 0; step < 4; step++) {
          const g = values(n2, 10 + step).map((v) => (Number.isNaN(v) ? 0.25 : v));
          ref.grad.set(g);
          ours.grad.set(g);
          optimizerStep(cfg, [ref], refState, 0.05);
          if (afterSplit) splitProduct();
          k.sgdStep!(ours.data, ours.grad, buf, n2, 0.05, momentum, nesterov);
          expect(sameBits(ours.data, ref.data)).toBe(true);
          if (buf !== null) expect(sameBits(buf, refState.moments[0]!.buf!)).toBe(true);
        }
      });
    }

    it.runIf(k.gatherRows !== undefined)('gatherRows copies the rows named by order[start…]', () => {
      const width = 5;
      const src = values(10 * width, 6);
      const order = new Int32Array([9, 3, 3, 0, 7, 1]);
      const dst = new Float32Array(4 * width);
      k.gatherRows!(src, width, order, 1, 4, dst);
      const expected = new Float32Array(4 * width);
      [3, 3, 0, 7].forEach((row, r) => expected.set(src.subarray(row * width, (row + 1) * width), r * width));
      expect(sameBits(dst, expected)).toBe(true);
      expect(() => k.gatherRows!(src, width, new Int32Array([10]), 0, 1, dst)).toThrow(RangeError);
      // One float a row (class labels): its own path in the addon.
      const labels = values(10, 8);
      const picked = new Float32Array(4);
      k.gatherRows!(labels, 1, order, 2, 4, picked);
      expect(sameBits(picked, Float32Array.from([3, 0, 7, 1], (row) => labels[row]!))).toBe(true);
      // Large enough for the threads to split the rows.
      const wide = 1000;
      const big = values(300 * wide, 7);
      const rows = Int32Array.from({ length: 200 }, (_, i) => (i * 37) % 300);
      const got = new Float32Array(200 * wide);
      k.gatherRows!(big, wide, rows, 0, 200, got);
      const want = new Float32Array(200 * wide);
      rows.forEach((row, r) => want.set(big.subarray(row * wide, (row + 1) * wide), r * wide));
      expect(sameBits(got, want)).toBe(true);
      expect(() => k.gatherRows!(src, width, order, 4, 3, dst)).toThrow(RangeError);
    });

    it.runIf(k.gatherByteRows !== undefined)('gatherByteRows gives Math.fround(byte / 255) for every byte, rows named by order[start…]', () => {
      // Every byte in every position of a row 263 wide: in vector lanes and in the scalar tail.
      const all = Uint8Array.from({ length: 256 * 263 }, (_, i) => (Math.floor(i / 263) * 7 + (i % 263)) % 256);
      const floats = new Float32Array(256 * 263);
      k.gatherByteRows!(all, 263, Int32Array.from({ length: 256 }, (_, r) => r), 0, 256, floats);
      for (let i = 0; i < all.length; i++) if (floats[i] !== Math.fround(all[i]! / 255)) expect(floats[i], `byte ${all[i]} at ${i % 263}`).toBe(Math.fround(all[i]! / 255));
      // Large enough for the threads to split the rows; the same as gathering the converted floats.
      const wide = 1000;
      const big = Uint8Array.from({ length: 300 * wide }, (_, i) => (i * 2654435761) >>> 24);
      const rows = Int32Array.from({ length: 201 }, (_, i) => (i * 37) % 300);
      const got = new Float32Array(200 * wide);
      k.gatherByteRows!(big, wide, rows, 1, 200, got);
      const want = Float32Array.from({ length: 200 * wide }, (_, i) => big[rows[1 + Math.floor(i / wide)]! * wide + (i % wide)]! / 255);
      expect(sameBits(got, want)).toBe(true);
      expect(() => k.gatherByteRows!(big, wide, new Int32Array([300]), 0, 1, got)).toThrow(RangeError);
      expect(() => k.gatherByteRows!(big, wide, rows, 200, 2, got)).toThrow(RangeError);
    });

    it('refuses buffers shorter than the count', () => {
      expect(() => k.activationForward?.('relu', new Float32Array(3), new Float32Array(4), 4, 0)).toThrow(RangeError);
      expect(() => k.sgdStep?.(new Float32Array(4), new Float32Array(3), null, 4, 0.1, 0, false)).toThrow(RangeError);
      expect(() => k.biasGradient?.(new Float32Array(5), new Float32Array(3), 2, 3)).toThrow(RangeError);
    });
  });
}
