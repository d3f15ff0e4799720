import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { builtinDataset, DataError, decodeDataset, encodeDataset, type LoadedDataset } from '../../src/data/index.js';

describe('dataset file format', () => {
  it('round-trips a built-in dataset bit for bit, including feature names', () => {
    const iris = builtinDataset('iris');
    expect(decodeDataset(encodeDataset(iris))).toEqual(iris);
  });

  it('decodes from an unaligned buffer', () => {
    const bytes = encodeDataset(builtinDataset('xor'));
    const shifted = Buffer.alloc(bytes.length + 3);
    bytes.copy(shifted, 3);
    expect(decodeDataset(shifted.subarray(3))).toEqual(builtinDataset('xor'));
  });

  it('round-trips any dataset shape (property)', () => {
    const arb = fc
      .record({ n: fc.integer({ min: 1, max: 20 }), f: fc.integer({ min: 1, max: 6 }), w: fc.integer({ min: 1, max: 3 }) })
      .chain(({ n, f, w }) =>
        fc.record({
          n: fc.constant(n),
          f: fc.constant(f),
          w: fc.constant(w),
          x: fc.float32Array({ minLength: n * f, maxLength: n * f, noNaN: true }),
          y: fc.float32Array({ minLength: n * w, maxLength: n * w, noNaN: true }),
        }),
      );
    fc.assert(
      fc.property(arb, ({ n, f, w, x, y }) => {
        const ds: LoadedDataset = {
          dataset: { x, y, n, features: f, targetWidth: w },
          meta: { rows: n, features: f, classes: null, task: 'regression', targetWidth: w },
        };
        const back = decodeDataset(encodeDataset(ds));
        expect(Buffer.from(back.dataset.x.buffer)).toEqual(Buffer.from(x.buffer, x.byteOffset, x.byteLength));
        expect(Buffer.from(back.dataset.y.buffer)).toEqual(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
        expect(back.meta).toEqual(ds.meta);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses truncated files, bad magic and a corrupt header', () => {
    const bytes = encodeDataset(builtinDataset('moons'));
    expect(() => decodeDataset(bytes.subarray(0, bytes.length - 4))).toThrow(DataError);
    const bad = Buffer.from(bytes);
    bad.write('XXXX', 0, 'latin1');
    expect(() => decodeDataset(bad)).toThrow(/bad magic/);
    const corrupt = Buffer.from(bytes);
    corrupt[12] = 0x7b + 1;
    expect(() => decodeDataset(corrupt)).toThrow(/not valid JSON/);
  });
});
