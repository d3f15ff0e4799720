import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BUILTIN_NAMES, builtinDataset, builtinInfo, isBuiltinName } from '../../src/data/index.js';

function digest(a: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);
}

describe('built-in datasets', () => {
  it.each(BUILTIN_NAMES.map((n) => [n]))('%s is the same bytes every time, with consistent metadata', (name) => {
    const a = builtinDataset(name);
    const b = builtinDataset(name);
    expect(digest(a.dataset.x)).toBe(digest(b.dataset.x));
    expect(digest(a.dataset.y)).toBe(digest(b.dataset.y));
    const { dataset, meta } = a;
    expect(dataset.x.length).toBe(meta.rows * meta.features);
    expect(dataset.y.length).toBe(meta.rows);
    expect(a.featureNames).toHaveLength(meta.features);
    for (const v of dataset.x) expect(Number.isFinite(v)).toBe(true);
    if (meta.task === 'classification') {
      const seen = new Set(dataset.y);
      expect(seen.size).toBe(meta.classes);
      expect(Math.max(...seen)).toBe((meta.classes as number) - 1);
    } else {
      expect(meta.classes).toBeNull();
    }
  });

  it('has the expected shapes', () => {
    const shapes = Object.fromEntries(BUILTIN_NAMES.map((n) => [n, [builtinDataset(n).meta.rows, builtinDataset(n).meta.features]]));
    expect(shapes).toEqual({
      xor: [4, 2],
      spirals: [300, 2],
      moons: [500, 2],
      circles: [500, 2],
      iris: [150, 4],
      sine: [500, 1],
      linear: [500, 3],
    });
  });

  it('embeds the real Iris data with 50 rows per class', () => {
    const { dataset } = builtinDataset('iris');
    const counts = [0, 0, 0];
    for (const label of dataset.y) counts[label] = (counts[label] as number) + 1;
    expect(counts).toEqual([50, 50, 50]);
    let sum = 0;
    for (const v of dataset.x) sum += v;
    // Column sums of Fisher's data: 876.5 + 458.6 + 563.7 + 179.9 (scikit-learn's corrected copy).
    expect(sum).toBeCloseTo(876.5 + 458.6 + 563.7 + 179.9, 2);
  });

  it('pins the generated data so a change to a recipe is noticed', () => {
    const pins = Object.fromEntries(BUILTIN_NAMES.map((n) => [n, digest(builtinDataset(n).dataset.x)]));
    expect(pins).toMatchInlineSnapshot(`
      {
        "circles": "b430ed50f3607122",
        "iris": "2374923a3acd29a6",
        "linear": "ae1a44bb0783e0f1",
        "moons": "bd0d960c253bd42a",
        "sine": "09bef29e686b889c",
        "spirals": "ac11eadaa569af7d",
        "xor": "81a8ac62bf71648e",
      }
    `);
  });

  it('the sine data follow sin(x) within the noise', () => {
    const { dataset } = builtinDataset('sine');
    let sq = 0;
    for (let i = 0; i < dataset.n; i++) sq += ((dataset.y[i] as number) - Math.sin(dataset.x[i] as number)) ** 2;
    expect(Math.sqrt(sq / dataset.n)).toBeLessThan(0.07);
  });

  it('recognises built-in names', () => {
    expect(isBuiltinName('moons')).toBe(true);
    expect(isBuiltinName('../etc/passwd')).toBe(false);
  });
});

describe('builtinInfo', () => {
  it('matches the generated dataset and cannot be mutated through the cache', () => {
    const info = builtinInfo('spirals');
    expect(info).toEqual(builtinDataset('spirals').meta);
    info.rows = 1;
    expect(builtinInfo('spirals').rows).toBe(300);
  });
});
