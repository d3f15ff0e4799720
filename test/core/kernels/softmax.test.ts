// The native softmax predict uses gives softmaxRows' bits (NaN where it gives NaN), over logits of
// every scale and rows holding NaN, ±Infinity, ±0, subnormals and values past exp's range.
import { describe, expect, it } from 'vitest';
import { softmaxRows } from '../../../src/core/activations.js';
import type { Kernels } from '../../../src/core/kernels/kernels.js';
import { createNativeKernels, nativeIsas } from '../../../src/core/kernels/native.js';
import { createRng, nextDouble } from '../../../src/core/rng.js';

const natives: Kernels[] = nativeIsas()
  .map((isa) => createNativeKernels(1, isa))
  .filter((k): k is Kernels => k !== null);

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
      softmaxRows(z, want, rows, cols);
      expect(k.softmaxRows!(z, got, rows, cols)).toBe(true);
      expect(sameOutputs(got, want), `scale ${scale}`).toBe(0);
    }
  });
});
