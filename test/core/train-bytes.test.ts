// Byte features (IDX pixels kept compact, read as byte / 255) train to exactly the metrics and
// checkpoint bytes of the float32 features they stand for, on every backend, with a validation
// split made in place or by copy, a separate validation set, and per-feature standardization.

import { describe, expect, it } from 'vitest';
import { BYTE_VALUES, featureFloats, holdoutViews, splitHoldout } from '../../src/core/data.js';
import { train, type TrainResult } from '../../src/core/train.js';
import type { Dataset, EpochMetrics, TrainConfig } from '../../src/core/types.js';
import { forEachBackend } from './backends.js';
import { config, dense, dropout, timeless } from './train-helpers.js';

/** 10 classes of 8×8 "images": bytes whose brightness pattern depends on the class. */
function byteImages(n: number, seed: number): Dataset & { x: Uint8Array } {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const I = 64;
  const x = new Uint8Array(n * I);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const c = r % 10;
    y[r] = c;
    for (let j = 0; j < I; j++) x[r * I + j] = Math.min(255, Math.floor(((j % 10 === c ? 180 : 40) + 75 * rand())));
  }
  return { x, y, n, features: I, targetWidth: 1 };
}

const asFloats = (ds: Dataset): Dataset => ({ ...ds, x: featureFloats(ds.x) });

async function run(cfg: TrainConfig, data: { train: Dataset; validation: Dataset | null }, k: ReturnType<typeof forEachBackend>[number]) {
  const epochs: EpochMetrics[] = [];
  const best: Uint8Array[] = [];
  const result: TrainResult = await train(cfg, data, { onEpoch: (m) => void epochs.push(m), onBest: (e) => void best.push(e.bytes) }, { kernels: k });
  return { metrics: epochs.map(timeless), best, final: result.checkpoint };
}

describe('byte features', () => {
  it('stand for Math.fround(byte / 255), as the IDX conversion always made them', () => {
    for (let b = 0; b < 256; b++) expect(BYTE_VALUES[b]).toBe(Math.fround(b / 255));
    expect(Array.from(featureFloats(Uint8Array.from([0, 1, 128, 255])))).toEqual([0, 1, 128, 255].map((b) => Math.fround(b / 255)));
  });

  it('split in place into the same rows as the copying split', () => {
    const ds = byteImages(103, 5);
    const copied = splitHoldout(ds, 0.2, 9);
    const own = { ...ds, x: ds.x.slice(), y: ds.y.slice() };
    const inPlace = splitHoldout(own, 0.2, 9, true);
    for (const part of ['train', 'validation'] as const) {
      expect(inPlace[part].n).toBe(copied[part].n);
      expect(Array.from(inPlace[part].x)).toEqual(Array.from(copied[part].x));
      expect(Array.from(inPlace[part].y)).toEqual(Array.from(copied[part].y));
      expect(inPlace[part].x).toBeInstanceOf(Uint8Array);
    }
    // The training rows are views of the given arrays: held once.
    expect(inPlace.train.x.buffer).toBe(own.x.buffer);
  });

  for (const k of forEachBackend()) {
    describe(`on ${k.name} × ${k.threads} thread(s)`, () => {
      const cfg = config({ layers: [dense(32, 'relu'), dropout(0.1), dense(10)], batchSize: 16, epochs: 3 });

      it('train to the same metrics and checkpoint bytes as their float32 values (validation split in place)', async () => {
        const ds = byteImages(300, 1);
        const split = splitHoldout({ ...ds, x: ds.x.slice(), y: ds.y.slice() }, 0.1, cfg.seed, true);
        const floatSplit = splitHoldout(asFloats(ds), 0.1, cfg.seed);
        const bytes = await run(cfg, split, k);
        const floats = await run(cfg, floatSplit, k);
        expect(bytes.metrics).toEqual(floats.metrics);
        expect(bytes.metrics.at(-1)!.val_accuracy).toBeGreaterThan(0.5);
        expect(bytes.best).toEqual(floats.best);
        expect(Buffer.from(bytes.final).equals(Buffer.from(floats.final))).toBe(true);
      });

      it('train through hold-out views (holdoutViews) to the bytes of the copied split: bytes, floats, standardized, regression', async () => {
        const ds = byteImages(300, 1);
        const cases: [string, Dataset, TrainConfig][] = [
          ['bytes', ds, cfg],
          ['floats', asFloats(ds), cfg],
          ['bytes, standardized', ds, { ...cfg, normalize: 'standard', epochs: 2 }],
          ['floats, regression', asFloats(ds), { ...cfg, layers: [dense(8, 'relu'), dense(1)], loss: { type: 'mse' }, epochs: 2 }],
        ];
        for (const [label, data, c] of cases) {
          // A validation set larger than the evaluation chunk (256 rows): views are gathered chunk by chunk.
          const fraction = label === 'floats' ? 0.9 : 0.1;
          const views = holdoutViews(data, fraction, c.seed);
          const copied = splitHoldout(data, fraction, c.seed);
          const viewed = await run(c, views, k);
          const plain = await run(c, copied, k);
          expect(viewed.metrics, label).toEqual(plain.metrics);
          expect(viewed.best, label).toEqual(plain.best);
          expect(Buffer.from(viewed.final).equals(Buffer.from(plain.final)), label).toBe(true);
          // Nothing was copied into the views: the dataset's own arrays, untouched.
          expect(views.train.x).toBe(data.x);
        }
      });

      it('the same with a separate validation set larger than a batch, and with standardization', async () => {
        const trainSet = byteImages(200, 2);
        const validation = byteImages(700, 3);
        for (const normalize of ['none', 'standard'] as const) {
          const c = { ...cfg, normalize, epochs: 2 };
          const bytes = await run(c, { train: trainSet, validation }, k);
          const floats = await run(c, { train: asFloats(trainSet), validation: asFloats(validation) }, k);
          expect(bytes.metrics).toEqual(floats.metrics);
          expect(Buffer.from(bytes.final).equals(Buffer.from(floats.final))).toBe(true);
        }
      });
    });
  }
});
