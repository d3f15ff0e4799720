// The native backend's buffers start on 64-byte cache lines, whatever the process allocated before:
// with V8's own ArrayBuffers (malloc, 16-byte aligned) the same job trained a few percent slower or
// faster from one process to the next (batch 128 on two threads: 4-7 % slower with every buffer 16,
// 32 or 48 bytes past a line, in bench/compare-builds.ts-style runs).
import { describe, expect, it } from 'vitest';

import { createNativeKernels, nativeAddressAlignment, nativeIsas } from '../../../src/core/kernels/native.js';
import { createRun } from '../../../src/core/run-state.js';
import type { Dataset } from '../../../src/core/types.js';
import { randomArray } from '../gradcheck.js';
import { config, dense } from '../train-helpers.js';

const CACHE_LINE = 64;
const HUGE_PAGE = 2 << 20;

/** Every Float32Array reachable from `root` (depth-first, each object once), with its path. */
function float32Arrays(root: unknown): { path: string; array: Float32Array }[] {
  const found: { path: string; array: Float32Array }[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, path: string) => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Float32Array) {
      found.push({ path, array: v });
      return;
    }
    if (ArrayBuffer.isView(v)) return;
    for (const [key, child] of Object.entries(v)) walk(child, `${path}.${key}`);
  };
  walk(root, 'run');
  return found;
}

const isas = nativeIsas();

describe.runIf(isas.length > 0)('native buffers', () => {
  it('alloc gives zeroed buffers of the length asked on 64-byte lines, and 2 MiB and more on 2 MiB pages', () => {
    const k = createNativeKernels(1)!;
    // Allocations in between move malloc's offsets, as a process' history does.
    const sizes = [1, 3, 15, 16, 17, 1000, 100_352, 262_143, HUGE_PAGE / 4, HUGE_PAGE / 4 + 5];
    const held: Float32Array[] = [];
    for (const n of sizes) {
      held.push(new Float32Array(1 + (n % 7)));
      const a = k.alloc(n);
      expect(a.length).toBe(n);
      expect(a.byteOffset).toBe(0);
      expect(a.every((x) => x === 0)).toBe(true);
      expect(nativeAddressAlignment(a)).toBeGreaterThanOrEqual(n * 4 >= HUGE_PAGE ? HUGE_PAGE : CACHE_LINE);
    }
  });

  it('tells a view 16 bytes into an aligned buffer from the buffer itself', () => {
    const a = createNativeKernels(1)!.alloc(64);
    expect(nativeAddressAlignment(a.subarray(4))).toBe(16);
    expect(nativeAddressAlignment(a.subarray(16))).toBeGreaterThanOrEqual(CACHE_LINE);
  });

  it.each(isas.flatMap((isa) => [1, 2].map((threads) => [isa, threads] as const)))(
    "a training run's weights, gradients, activations, optimizer moments and batch buffers are on cache lines (%s, %i thread(s))",
    (isa, threads) => {
      const n = 300;
      const train: Dataset = { x: randomArray(n * 20, 3), y: Float32Array.from({ length: n }, (_, i) => i % 4), n, features: 20, targetWidth: 1 };
      const validation: Dataset = { x: randomArray(60 * 20, 4), y: Float32Array.from({ length: 60 }, (_, i) => i % 4), n: 60, features: 20, targetWidth: 1 };
      const cfg = config({ layers: [dense(33, 'relu'), dense(17, 'tanh'), dense(4, 'linear')], batchSize: 37, epochs: 1, seed: 5 });
      // Adam (the helpers' default): two moments per parameter.
      const run = createRun(cfg, { train, validation }, createNativeKernels(threads, isa)!);
      const buffers = [
        ...float32Arrays(run.model.params),
        ...float32Arrays(run.model.stack),
        ...float32Arrays(run.optimizer.moments),
        ...float32Arrays({ X: run.batches.X, Y: run.batches.Y, pred: run.pred, dOut: run.dOut }),
      ].filter(({ array }) => array.length > 0);
      // 3 layers × (weights, bias) × (data, grad), Adam's two moments per parameter, and more.
      expect(buffers.length).toBeGreaterThanOrEqual(12 + 12 + 4);
      const misaligned = buffers.filter(({ array }) => nativeAddressAlignment(array)! < CACHE_LINE).map(({ path }) => path);
      expect(misaligned).toEqual([]);
    },
  );
});
