// Byte mini-batches (ByteInputKernels): the native GEMM reading bytes that stand for byte / 255 must
// give exactly the bits of gathering those floats first and calling the float kernels, on every build
// and thread count, and a training run that keeps its batches as bytes must equal one that does not.
import { describe, expect, it } from 'vitest';

import { BYTE_VALUES } from '../../../src/core/data.js';
import type { Kernels } from '../../../src/core/kernels/kernels.js';
import { createNativeKernels, nativeIsas } from '../../../src/core/kernels/native.js';
import { createRun } from '../../../src/core/run-state.js';
import { train } from '../../../src/core/train.js';
import type { Dataset } from '../../../src/core/types.js';
import { randomArray } from '../gradcheck.js';
import { config, dense, dropout } from '../train-helpers.js';

const native: Kernels[] = nativeIsas().flatMap((isa) => [createNativeKernels(1, isa)!, createNativeKernels(2, isa)!]);

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** n bytes covering all 256 values, in an order that depends on the seed. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = i % 7 === 0 ? i & 255 : s >>> 24;
  }
  return out;
}

const asFloats = (x: Uint8Array): Float32Array => Float32Array.from(x, (b) => BYTE_VALUES[b]!);

/**
 * B rows of I bytes shaped like dark-background images, so that the AVX-512 build's zero skipping
 * has steps to leave out: a zero border (the first and last fifth of each row), a zero stripe in the
 * middle of every other row, a few rows wholly zero, and half the other pixels zero.
 */
function sparseBytes(B: number, I: number, seed: number): Uint8Array {
  const x = bytes(B * I, seed);
  const border = Math.floor(I / 5);
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < I; j++) {
      const stripe = r % 2 === 0 && j >= I / 2 && j < I / 2 + 20;
      const zero = r % 13 === 5 || j < border || j >= I - border || stripe || (x[r * I + j]! & 1) === 0;
      if (zero) x[r * I + j] = 0;
    }
  }
  return x;
}

// [B, I, O]: one row; batch 32 (X·Wᵀ computed transposed on one thread, so the bytes are B); rows and
// columns off the tile grid with I over several k blocks; the benchmark's batch-1024 first layer;
// fewer outputs than a register tile is wide (the float path would take the inference kernel).
const shapes: [number, number, number][] = [
  [1, 5, 3],
  [32, 784, 128],
  [37, 301, 45],
  [130, 784, 128],
  [1024, 784, 128],
  [67, 600, 10],
];

it('the native backend offers byte inputs when it loads', () => {
  expect(native.length === 0 || native.every((k) => k.byteInputs !== undefined)).toBe(true);
});

describe.each(native.map((k) => [k.name, k.threads, k] as const))('%s on %i thread(s)', (_name, _threads, k) => {
  const byteInputs = k.byteInputs!;

  it('gathers rows as bytes, unconverted', () => {
    const src = bytes(50 * 33, 1);
    const order = Int32Array.from([49, 0, 7, 7, 23, 11]);
    const dst = new Uint8Array(4 * 33).fill(9);
    byteInputs.gatherRows(src, 33, order, 2, 4, dst);
    const want = [7, 7, 23, 11].flatMap((r) => Array.from(src.subarray(r * 33, r * 33 + 33)));
    expect(Array.from(dst)).toEqual(want);
    expect(() => byteInputs.gatherRows(src, 33, Int32Array.from([50]), 0, 1, dst)).toThrow(/outside src/);
    expect(() => byteInputs.gatherRows(src, 33, order, 0, 6, dst)).toThrow(/shorter/);
  });

  it('gathers a batch large enough for the threads to split it, touching nothing past its rows', () => {
    const width = 784;
    const rows = 3001;
    const src = bytes(rows * width, 5);
    const count = 1023; // above the size at which two threads split the copy, and odd
    const order = Int32Array.from({ length: count + 7 }, (_, i) => (i * 7919) % rows);
    const dst = new Uint8Array((count + 2) * width).fill(9);
    byteInputs.gatherRows(src, width, order, 5, count, dst);
    for (let r = 0; r < count; r++) {
      const from = order[5 + r]! * width;
      if (!dst.subarray(r * width, (r + 1) * width).every((v, j) => v === src[from + j])) throw new Error(`row ${r} differs`);
    }
    expect(dst.subarray(count * width).every((v) => v === 9)).toBe(true);
  });

  it.each(shapes)('X·Wᵀ + b (then ReLU) from B=%i × I=%i bytes to O=%i outputs has the float bits', (B, I, O) => {
    const X = bytes(B * I, B + I);
    const W = randomArray(O * I, 3);
    const b = randomArray(O, 4);
    for (const relu of [false, true]) {
      for (const bias of [b, null]) {
        const [Zf, Af, Zb, Ab] = [0, 1, 2, 3].map(() => new Float32Array(B * O).fill(7));
        k.denseForward!(asFloats(X), W, bias, Zf!, relu ? Af! : null, B, I, O);
        byteInputs.denseForward(X, W, bias, Zb!, relu ? Ab! : null, B, I, O);
        expect(sameBits(Zb!, Zf!)).toBe(true);
        if (relu) expect(sameBits(Ab!, Af!)).toBe(true);
      }
    }
  });

  // Zero skipping must keep the bits, and must not skip where the other operand is not finite
  // (0·∞ and 0·NaN are NaN): an infinity and a NaN sit in weights that only multiply zero pixels.
  it.each(shapes)('X·Wᵀ + b from B=%i × I=%i image-like bytes (zero borders) to O=%i outputs has the float bits, also with ∞ and NaN weights', (B, I, O) => {
    const X = sparseBytes(B, I, B + 3 * I);
    const b = randomArray(O, 4);
    for (const poison of [false, true]) {
      const W = randomArray(O * I, 3);
      if (poison) {
        W[0] = Infinity; // output 0, input 0: always a zero pixel (the border)
        W[(O - 1) * I + I - 1] = NaN;
      }
      const [Zf, Af, Zb, Ab] = [0, 1, 2, 3].map(() => new Float32Array(B * O).fill(7));
      k.denseForward!(asFloats(X), W, b, Zf!, Af!, B, I, O);
      byteInputs.denseForward(X, W, b, Zb!, Ab!, B, I, O);
      expect(sameBits(Zb!, Zf!)).toBe(true);
      expect(sameBits(Ab!, Af!)).toBe(true);
      if (poison && I >= 5) expect(Number.isNaN(Zb![0])).toBe(true);
    }
  });

  it.each(shapes)('dZᵀ·X over B=%i rows of I=%i image-like bytes for O=%i outputs has the float bits, also with ∞ and NaN gradients', (B, I, O) => {
    const X = sparseBytes(B, I, 2 * B + I);
    for (const poison of [false, true]) {
      const dZ = randomArray(B * O, 5);
      if (poison) {
        dZ[0] = -Infinity;
        dZ[B * O - 1] = NaN;
      }
      const start = randomArray(O * I, 6);
      const want = start.slice();
      const got = start.slice();
      k.gemm(true, false, O, I, B, 1, dZ, asFloats(X), 1, want);
      byteInputs.weightGradient(dZ, X, got, B, I, O, 1);
      expect(sameBits(got, want)).toBe(true);
      if (poison && I >= 5) expect(Number.isNaN(got[0])).toBe(true);
    }
  });

  it.each(shapes)('dZᵀ·X over B=%i rows of I=%i bytes for O=%i outputs has the float bits, set or added', (B, I, O) => {
    const X = bytes(B * I, 2 * B + I);
    const dZ = randomArray(B * O, 5);
    for (const beta of [0, 1] as const) {
      const start = randomArray(O * I, 6);
      const want = start.slice();
      const got = start.slice();
      k.gemm(true, false, O, I, B, 1, dZ, asFloats(X), beta, want);
      byteInputs.weightGradient(dZ, X, got, B, I, O, beta);
      expect(sameBits(got, want)).toBe(true);
    }
  });
});

/** 10 classes of 8×8 byte "images" whose brightness pattern depends on the class. */
function byteImages(n: number): Dataset & { x: Uint8Array } {
  const x = bytes(n * 64, 11);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    y[r] = r % 10;
    for (let j = r % 10; j < 64; j += 10) x[r * 64 + j] = Math.min(255, x[r * 64 + j]! + 120);
  }
  return { x, y, n, features: 64, targetWidth: 1 };
}

describe.each(native.map((k) => [k.name, k.threads, k] as const))('training on %s with %i thread(s)', (_name, _threads, k) => {
  const ds = byteImages(300);
  const cfg = config({ layers: [dense(24, 'relu'), dense(10, 'linear')], batchSize: 64, epochs: 3, seed: 4 });

  // ReLU first (fused into the byte GEMM's output pass), and tanh (its own pass after it).
  it.each(['relu', 'tanh'] as const)('keeps byte batches as bytes, and trains to the bits of float batches (%s)', async (activation) => {
    const run = { ...cfg, layers: [dense(24, activation), dense(10, 'linear')] };
    expect(createRun(run, { train: ds, validation: null }, k).batches.X).toBeInstanceOf(Uint8Array);
    const { byteInputs: _, ...floatOnly } = k;
    expect(createRun(run, { train: ds, validation: null }, floatOnly).batches.X).toBeInstanceOf(Float32Array);
    const withBytes = await train(run, { train: ds, validation: null }, {}, { kernels: k });
    const withFloats = await train(run, { train: ds, validation: null }, {}, { kernels: floatOnly });
    expect(withBytes.last?.loss).toBe(withFloats.last?.loss);
    expect(Buffer.from(withBytes.checkpoint).equals(Buffer.from(withFloats.checkpoint))).toBe(true);
  });

  it('gathers floats when the first layer is dropout or the features are standardized', () => {
    const first = config({ layers: [dropout(0.2), dense(10, 'linear')], batchSize: 64, epochs: 1, seed: 4 });
    expect(createRun(first, { train: ds, validation: null }, k).batches.X).toBeInstanceOf(Float32Array);
    const standard = { ...cfg, normalize: 'standard' as const };
    expect(createRun(standard, { train: ds, validation: null }, k).batches.X).toBeInstanceOf(Float32Array);
  });
});
