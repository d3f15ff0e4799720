import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { builtinDataset, DataError, decodeDataset, encodeDataset, type LoadedDataset } from '../../src/data/index.js';

describe('dataset file format', () => {
  it('round-trips a built-in dataset bit for bit, including feature and class names', () => {
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
        const bytesOf = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
        expect(bytesOf(back.dataset.x)).toEqual(bytesOf(x));
        expect(bytesOf(back.dataset.y)).toEqual(bytesOf(y));
        expect(back.meta).toEqual(ds.meta);
      }),
      { numRuns: 100 },
    );
  });

  it('stores byte features as bytes (a quarter of float32) and reads them in place from the file buffer', () => {
    const x = Uint8Array.from({ length: 30 * 8 }, (_, i) => (i * 7) % 256);
    const ds: LoadedDataset = {
      dataset: { x, y: Float32Array.from({ length: 30 }, (_, i) => i % 3), n: 30, features: 8, targetWidth: 1 },
      meta: { rows: 30, features: 8, classes: 3, task: 'classification', targetWidth: 1 },
    };
    const bytes = encodeDataset(ds);
    // Prefix, 1 byte per feature, 4 per label, header and trailer.
    expect(bytes.length).toBe(16 + 30 * 8 + 4 * 30 + bytes.readUInt32LE(bytes.length - 8) + 8);
    const back = decodeDataset(bytes);
    expect(back.dataset.x).toBeInstanceOf(Uint8Array);
    expect(Array.from(back.dataset.x)).toEqual(Array.from(x));
    expect(Array.from(back.dataset.y)).toEqual(Array.from(ds.dataset.y));
    expect(back.dataset.x.buffer).toBe(bytes.buffer);
    expect(back.dataset.y.buffer).toBe(bytes.buffer);
  });

  it('still reads version 1 files (x then y, both float32), written before byte features', () => {
    const iris = builtinDataset('iris');
    const { x, y } = iris.dataset;
    let json = Buffer.from(JSON.stringify({ ...iris.meta, featureNames: iris.featureNames }));
    json = Buffer.concat([json, Buffer.alloc((8 - ((12 + json.length) % 8)) % 8, 0x20)]);
    const head = Buffer.alloc(12);
    head.write('TRDS', 0, 'latin1');
    head.writeUInt32LE(1, 4);
    head.writeUInt32LE(json.length, 8);
    const v1 = Buffer.concat([head, json, Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)]);
    // Version 1 files carried no class names.
    const { classNames: _names, ...withoutClassNames } = iris;
    expect(decodeDataset(v1)).toEqual(withoutClassNames);
  });

  it('still reads version 2 files (header first, then y, then x), written before streamed uploads', () => {
    const x = Uint8Array.from({ length: 5 * 3 }, (_, i) => i * 11);
    const ds: LoadedDataset = {
      dataset: { x, y: Float32Array.from([0, 1, 2, 1, 0]), n: 5, features: 3, targetWidth: 1 },
      meta: { rows: 5, features: 3, classes: 3, task: 'classification', targetWidth: 1 },
      featureNames: ['a', 'b', 'c'],
    };
    let json = Buffer.from(JSON.stringify({ ...ds.meta, featureNames: ds.featureNames, xType: 'uint8' }));
    json = Buffer.concat([json, Buffer.alloc((8 - ((12 + json.length) % 8)) % 8, 0x20)]);
    const head = Buffer.alloc(12);
    head.write('TRDS', 0, 'latin1');
    head.writeUInt32LE(2, 4);
    head.writeUInt32LE(json.length, 8);
    const y = ds.dataset.y as Float32Array;
    const v2 = Buffer.concat([head, json, Buffer.from(y.buffer, y.byteOffset, y.byteLength), Buffer.from(x)]);
    expect(decodeDataset(v2)).toEqual(ds);
  });

  it('writes the rows before the header, so an upload can stream them: x right after the 16-byte prefix', () => {
    const xor = builtinDataset('xor');
    const bytes = encodeDataset(xor);
    const x = xor.dataset.x as Float32Array;
    expect(bytes.readUInt32LE(4)).toBe(3);
    expect(bytes.subarray(16, 16 + x.byteLength).equals(Buffer.from(x.buffer, x.byteOffset, x.byteLength))).toBe(true);
    expect(bytes.toString('latin1', bytes.length - 4)).toBe('TRDS');
  });

  it('refuses truncated files, bad magic and a corrupt header', () => {
    const bytes = encodeDataset(builtinDataset('moons'));
    expect(() => decodeDataset(bytes.subarray(0, bytes.length - 4))).toThrow(DataError);
    const bad = Buffer.from(bytes);
    bad.write('XXXX', 0, 'latin1');
    expect(() => decodeDataset(bad)).toThrow(/bad magic/);
    const corrupt = Buffer.from(bytes);
    corrupt[bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8)] = 0x7b + 1;
    expect(() => decodeDataset(corrupt)).toThrow(/not valid JSON/);
  });
});
