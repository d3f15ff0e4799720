// The native softmax predict uses gives softmaxRows' bits (NaN where it gives NaN), over logits of
// every scale and rows holding NaN, ±Infinity, ±0, subnormals and values past exp's range, on its
// AVX-512 path (eight exps at a time, where the CPU has it) and on its one-V8-exp-per-value path;
// and two-column rows [0, x] take every x in [-750, 0] through exp's branches (reduction by ±1 or
// by k, the small and tiny ranges, results that are subnormal or zero). The vector exp itself is
// compared with Math.exp in double precision over every range of its branches.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { softmaxRows } from '../../../src/core/activations.js';
import { lossAndGradient, lossAndOutputs, lossBackward } from '../../../src/core/losses.js';
import { jsKernels } from '../../../src/core/kernels/js.js';
import type { Kernels } from '../../../src/core/kernels/kernels.js';
import { createNativeKernels, nativeAddonPath, nativeIsas } from '../../../src/core/kernels/native.js';
import { accumulateMetrics, createMetrics } from '../../../src/core/metrics.js';
import { createRng, nextDouble } from '../../../src/core/rng.js';

const natives: Kernels[] = nativeIsas()
  .map((isa) => createNativeKernels(1, isa))
  .filter((k): k is Kernels => k !== null);

const addonPath = nativeAddonPath();
/** The addon's softmax forced onto its scalar path. */
const addon =
  addonPath === null
    ? null
    : (createRequire(import.meta.url)(addonPath) as {
        softmaxRows(Z: Float32Array, A: Float32Array, rows: number, cols: number, scalar: boolean): void;
        expVector(x: Float64Array, y: Float64Array, lanes: number): boolean;
        softmaxCrossEntropy(Z: Float32Array, labels: Float32Array, P: Float32Array, dZ: Float32Array | null, rows: number, cols: number, scalar: boolean): number;
      });
const scalarSoftmax = addon?.softmaxRows;

const EDGE_ROWS = [
  [NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [-Infinity, 0, -0, 1, 1, 1, 1, 1, 1, 1],
  [Infinity, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [-0, -0, -0, -0, -0, -0, -0, -0, -0, -0],
  [-800, -700, 0, 1e-30, -1e-30, 3e38, -3e38, 88, -88, 1e-45],
  [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
];

/** Equal bits, or NaN on both sides (NaN payloads are not part of the contract). */
function sameOutputs(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer);
  const ub = new Uint32Array(b.buffer);
  let differ = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) differ++;
  return differ;
}

describe.runIf(natives.length > 0).each(natives.map((k) => [k.name, k] as const))('softmaxRows on %s', (_name, k) => {
  it.runIf(k.softmaxRows?.(new Float32Array(2), new Float32Array(2), 1, 2) === true)('gives the TypeScript softmax bits', () => {
    const rng = createRng(7);
    const cols = 10;
    for (const scale of [1e-3, 1, 10, 100, 1e4, 1e7]) {
      const rows = 20_000;
      const z = Float32Array.from({ length: rows * cols }, () => (nextDouble(rng) - 0.5) * scale);
      EDGE_ROWS.forEach((row, r) => z.set(row, r * cols));
      const want = new Float32Array(rows * cols);
      const got = new Float32Array(rows * cols);
      const scalar = new Float32Array(rows * cols);
      softmaxRows(z, want, rows, cols);
      expect(k.softmaxRows!(z, got, rows, cols)).toBe(true);
      scalarSoftmax!(z, scalar, rows, cols, true);
      expect(sameOutputs(got, want), `scale ${scale}`).toBe(0);
      expect(sameOutputs(scalar, want), `scale ${scale}, scalar path`).toBe(0);
    }
  });

  it.runIf(k.softmaxRows?.(new Float32Array(2), new Float32Array(2), 1, 2) === true)('gives exp(x) as Math.exp does for x in [-750, 0]', () => {
    const rows = 1_500_000;
    const z = new Float32Array(2 * rows);
    for (let r = 0; r < rows; r++) z[2 * r + 1] = -750 * (r / rows) ** 3; // dense near 0, reaching past underflow
    const want = new Float32Array(2 * rows);
    const got = new Float32Array(2 * rows);
    softmaxRows(z, want, rows, 2);
    k.softmaxRows!(z, got, rows, 2);
    expect(sameOutputs(got, want)).toBe(0);
  });
});

// 8 lanes: AVX-512; 4: AVX2 (a width this CPU lacks is not run).
const EXP_WIDTHS = [8, 4].filter((lanes) => addon?.expVector(new Float64Array(1), new Float64Array(1), lanes) === true);

describe.runIf(EXP_WIDTHS.length > 0).each(EXP_WIDTHS)('the vector exp of %i lanes', (lanes) => {
  it('gives Math.exp bits in double precision, every branch and special value', () => {
    const rng = createRng(11);
    const ranges: [number, number][] = [[-760, 0], [-1, 0], [-0.36, -0.34], [-1.05, -1.03], [-1e-7, 1e-7], [-750, -700], [-800, 800], [0, 1.1], [700, 712]];
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 5e-324, -5e-324, 709.782712893384, 709.79, -745.1332191019412, -745.14, 2 ** -28, -(2 ** -29)];
    const n = 200_000;
    const x = new Float64Array(ranges.length * n + specials.length);
    ranges.forEach(([lo, hi], r) => {
      for (let i = 0; i < n; i++) x[r * n + i] = lo + (hi - lo) * nextDouble(rng);
    });
    x.set(specials, ranges.length * n);
    const y = new Float64Array(x.length);
    expect(addon!.expVector(x, y, lanes)).toBe(true);
    let differ = 0;
    for (let i = 0; i < x.length; i++) {
      const want = Math.exp(x[i]!);
      if (!(Object.is(want, y[i]) || (Number.isNaN(want) && Number.isNaN(y[i])))) differ++;
    }
    expect(differ).toBe(0);
  });
});

/** lossAndOutputs then lossBackward, the training loop's reference for the fused kernel. */
function referenceCrossEntropy(z: Float32Array, labels: Float32Array, rows: number, cols: number) {
  const loss = { type: 'softmax_cross_entropy' } as const;
  const probs = new Float32Array(rows * cols);
  const grad = new Float32Array(rows * cols);
  const mean = lossAndOutputs(loss, z, labels, probs, rows, cols, 1);
  lossBackward(loss, z, labels, grad, rows, cols, 1, probs);
  return { mean, probs, grad };
}

describe.runIf(natives.length > 0).each(natives.map((k) => [k.name, k] as const))('softmaxCrossEntropy on %s', (_name, k) => {
  const available = k.softmaxCrossEntropy?.(new Float32Array(2), new Float32Array(1), new Float32Array(2), null, 1, 2) !== null;

  it.runIf(available)('gives the bits of lossAndOutputs then lossBackward, on its vector and scalar paths', () => {
    const rng = createRng(5);
    for (const cols of [2, 10, 37]) {
      for (const scale of [1e-3, 1, 30, 1e4]) {
        const rows = 3000;
        const z = Float32Array.from({ length: rows * cols }, () => (nextDouble(rng) - 0.5) * scale);
        if (cols === 10) EDGE_ROWS.forEach((row, r) => z.set(row, r * cols));
        const labels = Float32Array.from({ length: rows }, () => Math.floor(nextDouble(rng) * cols));
        const want = referenceCrossEntropy(z, labels, rows, cols);
        for (const scalar of [false, true]) {
          const probs = new Float32Array(rows * cols);
          const grad = new Float32Array(rows * cols);
          const total = scalar ? addon!.softmaxCrossEntropy(z, labels, probs, grad, rows, cols, true) : k.softmaxCrossEntropy!(z, labels, probs, grad, rows, cols);
          const where = `${cols} columns, scale ${scale}${scalar ? ', scalar path' : ''}`;
          expect(Object.is(total! / rows, want.mean) || (Number.isNaN(total) && Number.isNaN(want.mean)), where).toBe(true);
          expect(sameOutputs(probs, want.probs), where).toBe(0);
          expect(sameOutputs(grad, want.grad), where).toBe(0);
        }
      }
    }
  });

  it.runIf(available)('without a gradient buffer, gives the loss and probabilities', () => {
    const rng = createRng(9);
    const rows = 500;
    const cols = 10;
    const z = Float32Array.from({ length: rows * cols }, () => (nextDouble(rng) - 0.5) * 8);
    const labels = Float32Array.from({ length: rows }, (_, r) => r % cols);
    const want = referenceCrossEntropy(z, labels, rows, cols);
    const probs = new Float32Array(rows * cols);
    expect(k.softmaxCrossEntropy!(z, labels, probs, null, rows, cols)! / rows).toBe(want.mean);
    expect(sameOutputs(probs, want.probs)).toBe(0);
  });

  it.runIf(available)('counts the rows whose first largest probability is their label, as accumulateMetrics does', () => {
    const rng = createRng(11);
    for (const cols of [2, 10, 37]) {
      const rows = 2000;
      // Whole-number logits: many rows with a tie for the largest (the first one is the prediction).
      const z = Float32Array.from({ length: rows * cols }, () => Math.round((nextDouble(rng) - 0.5) * 4));
      if (cols === 10) EDGE_ROWS.forEach((row, r) => z.set(row, r * cols));
      const labels = Float32Array.from({ length: rows }, () => Math.floor(nextDouble(rng) * cols));
      const probs = new Float32Array(rows * cols);
      const hits = new Float64Array(1);
      expect(k.softmaxCrossEntropy!(z, labels, probs, null, rows, cols, hits)).not.toBeNull();
      const counted = createMetrics({ type: 'softmax_cross_entropy' }, cols, new Float64Array(cols));
      accumulateMetrics(counted, 0, probs, labels, rows, 1);
      expect(counted.correct, `${cols} columns`).toBeGreaterThan(0);
      expect(hits[0], `${cols} columns`).toBe(counted.correct);
      // Through lossAndGradient: the count, or NaN where the backend's pass could not count.
      const viaLoss = new Float64Array(1);
      lossAndGradient({ type: 'softmax_cross_entropy' }, z, labels, probs, null, rows, cols, 1, k, viaLoss);
      expect(viaLoss[0]).toBe(counted.correct);
      lossAndGradient({ type: 'softmax_cross_entropy' }, z, labels, probs, null, rows, cols, 1, jsKernels, viaLoss);
      expect(viaLoss[0]).toBeNaN();
    }
  });

  it.runIf(available)('leaves a label that is not a class index to the caller (null), which reports its row', () => {
    const z = new Float32Array(4 * 3).fill(0.5);
    for (const bad of [3, -1, 1.5, NaN, Infinity]) {
      const labels = Float32Array.from([0, 2, bad, 1]);
      expect(k.softmaxCrossEntropy!(z, labels, new Float32Array(12), new Float32Array(12), 4, 3), String(bad)).toBeNull();
      expect(() => lossAndGradient({ type: 'softmax_cross_entropy' }, z, labels, new Float32Array(12), new Float32Array(12), 4, 3, 1, k)).toThrow(/class label at row 2/);
    }
  });
});
