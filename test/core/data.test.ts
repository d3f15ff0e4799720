import { describe, expect, it } from 'vitest';
import { contiguous, holdoutViews, splitHoldout, standardizationOf, standardize } from '../../src/core/data.js';
import { CoreError } from '../../src/core/errors.js';
import { train } from '../../src/core/train.js';
import type { Dataset } from '../../src/core/types.js';
import { config, dense } from './train-helpers.js';

function rowsDataset(n: number): Dataset {
  // Row i has features [i, 10i] and target i, so rows are recognisable after the split.
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = i;
    x[2 * i + 1] = 10 * i;
    y[i] = i;
  }
  return { x, y, n, features: 2, targetWidth: 1 };
}

describe('splitHoldout', () => {
  it('splits ceil(fraction · N) rows off, keeping every row exactly once with its target', () => {
    const { train, validation } = splitHoldout(rowsDataset(101), 0.2, 7);
    expect(validation.n).toBe(21);
    expect(train.n).toBe(80);
    const all = [...train.y, ...validation.y].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 101 }, (_, i) => i));
    for (const part of [train, validation]) {
      for (let r = 0; r < part.n; r++) expect(part.x[2 * r + 1]).toBe(10 * part.y[r]!);
      expect([...part.y]).toEqual([...part.y].sort((a, b) => a - b));
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = splitHoldout(rowsDataset(50), 0.3, 1);
    const b = splitHoldout(rowsDataset(50), 0.3, 1);
    const c = splitHoldout(rowsDataset(50), 0.3, 2);
    expect(b.validation.y).toEqual(a.validation.y);
    expect(c.validation.y).not.toEqual(a.validation.y);
  });

  it('refuses fractions that leave no rows for one side', () => {
    expect(() => splitHoldout(rowsDataset(10), 0, 1)).toThrow(CoreError);
    expect(() => splitHoldout(rowsDataset(10), 1, 1)).toThrow(/must be in \(0, 1\)/);
    expect(() => splitHoldout(rowsDataset(1), 0.5, 1)).toThrow(/leaves no training rows/);
  });
});

describe('holdoutViews', () => {
  it("names splitHoldout's rows, in its order, without copying them; a view of a view composes", () => {
    const ds = rowsDataset(101);
    const copied = splitHoldout(ds, 0.2, 7);
    const views = holdoutViews(ds, 0.2, 7);
    for (const part of ['train', 'validation'] as const) {
      expect(views[part].x).toBe(ds.x);
      expect(views[part].n).toBe(copied[part].n);
      expect(views[part].rows!.length).toBe(copied[part].n);
      const dense = contiguous(views[part]);
      expect(dense.rows).toBeUndefined();
      expect(Array.from(dense.x)).toEqual(Array.from(copied[part].x));
      expect(Array.from(dense.y)).toEqual(Array.from(copied[part].y));
    }
    const nested = holdoutViews(views.train, 0.25, 3);
    const nestedCopied = splitHoldout(copied.train, 0.25, 3);
    expect(Array.from(contiguous(nested.validation).y)).toEqual(Array.from(nestedCopied.validation.y));
    expect(Array.from(contiguous(nested.train).x)).toEqual(Array.from(nestedCopied.train.x));
    // splitHoldout of a view copies (in place or not): the view's arrays are not its own.
    const fromView = splitHoldout(views.train, 0.25, 3, true);
    expect(Array.from(fromView.train.y)).toEqual(Array.from(nestedCopied.train.y));
    expect(fromView.train.rows).toBeUndefined();
  });

  it('are checked before training: a view naming a row its arrays do not hold is refused', async () => {
    const ds = rowsDataset(20);
    const views = holdoutViews(ds, 0.25, 1);
    const cfg = config({ layers: [dense(1)], loss: { type: 'mse' }, epochs: 1, batchSize: 4 });
    const bad = { ...views.train, rows: Int32Array.from(views.train.rows!, (r, i) => (i === 3 ? 20 : r)) };
    await expect(train(cfg, { train: bad, validation: views.validation })).rejects.toThrow(/training arrays do not hold/);
    const short = { ...views.validation, n: views.validation.n + 1 };
    await expect(train(cfg, { train: views.train, validation: short })).rejects.toThrow(/validation arrays do not hold/);
    // Regression copies a view's rows (createRun), after the check; a sound view trains.
    await expect(train(cfg, views)).resolves.toBeDefined();
  });

  it('refuses the fractions splitHoldout refuses', () => {
    expect(() => holdoutViews(rowsDataset(10), 1, 1)).toThrow(/must be in \(0, 1\)/);
    expect(() => holdoutViews(rowsDataset(1), 0.5, 1)).toThrow(/leaves no training rows/);
  });
});

describe('standardization', () => {
  it('maps each feature to mean 0, std 1, and a constant feature to 0', () => {
    const x = Float32Array.from([1, 5, 2, 5, 3, 5, 6, 5]);
    const s = standardizationOf(x, 4, 2);
    expect(s.mean[0]).toBe(3);
    expect(s.std[0]).toBeCloseTo(Math.sqrt((4 + 1 + 0 + 9) / 4), 6);
    expect(s.std[1]).toBe(1);
    const out = new Float32Array(8);
    standardize(x, 4, 2, s, out);
    const col0 = [out[0]!, out[2]!, out[4]!, out[6]!];
    expect(col0.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
    expect(col0.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 6);
    expect([out[1], out[3], out[5], out[7]]).toEqual([0, 0, 0, 0]);
  });
});
