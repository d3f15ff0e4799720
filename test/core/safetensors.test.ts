import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../src/core/safetensors.js';

const enc = new TextEncoder();

/** Builds a file by hand from a header object and a data section, bypassing the encoder's checks. */
function rawFile(header: unknown, data: Uint8Array, headerText = JSON.stringify(header)): Uint8Array {
  const json = enc.encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(bytes: Uint8Array): { length: number; text: string } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return { length, text: new TextDecoder().decode(bytes.subarray(8, 8 + length)) };
}

describe('safetensors', () => {
  const tensors = [
    { name: 'layers.2.weight', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -Infinity]) },
    { name: 'layers.0.bias', shape: [3], data: Float32Array.from([0.1, 0.2, 0.3]) },
    { name: 'scalar', shape: [], data: Float32Array.from([NaN]) },
    { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
  ];
  const metadata = { z: 'last', a: '{"json":true}', epoch: '3' };

  it('round-trips tensors bit for bit and metadata exactly', () => {
    const bytes = encodeSafetensors(tensors, metadata);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual(metadata);
    expect([...back.tensors.keys()]).toEqual(['empty', 'layers.0.bias', 'layers.2.weight', 'scalar']);
    for (const t of tensors) {
      const got = back.tensors.get(t.name)!;
      expect(got.shape).toEqual(t.shape);
      expect(new Uint8Array(got.data.buffer)).toEqual(new Uint8Array(t.data.buffer));
    }
  });

  it('writes the documented layout: u64 LE header length, padded JSON, sorted data', () => {
    const bytes = encodeSafetensors(tensors, metadata);
    const { length, text } = headerOf(bytes);
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(0);
    expect(length % 8).toBe(0);
    expect(text.trimEnd().length).toBeGreaterThan(length - 8);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    const header = JSON.parse(text) as Record<string, { data_offsets: number[]; dtype: string }>;
    expect(Object.keys(header)).toEqual(['__metadata__', 'empty', 'layers.0.bias', 'layers.2.weight', 'scalar']);
    expect(header['layers.0.bias']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    expect(header['layers.2.weight']!.data_offsets).toEqual([12, 36]);
    // Raw data is little-endian float32: 0.1f = 0x3DCCCCCD.
    expect([...bytes.subarray(8 + length, 8 + length + 4)]).toEqual([0xcd, 0xcc, 0xcc, 0x3d]);
    expect(bytes.length).toBe(8 + length + 40);
  });

  it('is deterministic regardless of input order', () => {
    const a = encodeSafetensors(tensors, metadata);
    const b = encodeSafetensors([...tensors].reverse(), { epoch: '3', a: '{"json":true}', z: 'last' });
    expect(b).toEqual(a);
  });

  it('reads files without metadata and with unaligned data', () => {
    const data = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const bytes = rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data, '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
    expect((bytes.length - 8) % 4).not.toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({});
    expect([...back.tensors.get('w')!.data]).toEqual([1.5, -2]);
  });

  it('refuses to encode a shape that does not match the data', () => {
    expect(() => encodeSafetensors([{ name: 'w', shape: [2, 2], data: new Float32Array(3) }], {})).toThrow(/shape \[2, 2\] but 3 values/);
    expect(() => encodeSafetensors([{ name: 'w', shape: [1], data: new Float32Array(1) }, { name: 'w', shape: [1], data: new Float32Array(1) }])).toThrow(/twice/);
  });

  describe('rejects malformed files with a clear error', () => {
    const good = encodeSafetensors([{ name: 'a', shape: [2], data: Float32Array.from([1, 2]) }, { name: 'b', shape: [1], data: Float32Array.from([3]) }], { k: 'v' });
    const eight = new Uint8Array(12);
    const cases: [string, Uint8Array, RegExp][] = [
      ['fewer than 8 bytes', new Uint8Array(5), /truncated file: 5 bytes/],
      ['header length beyond the file', good.subarray(0, 20), /header length \d+ exceeds the 12 bytes/],
      ['truncated data', good.subarray(0, good.length - 2), /out of range/],
      ['trailing bytes', new Uint8Array([...good, 0, 0, 0, 0]), /cover 12 of 16 data bytes/],
      ['bad JSON', rawFile(null, eight, '{"a": '), /not valid UTF-8 JSON/],
      ['JSON that is not an object', rawFile([1, 2], eight), /must be a JSON object/],
      ['non-string metadata', rawFile({ __metadata__: { k: 1 } }, new Uint8Array(0)), /metadata "k" must be a string/],
      ['unknown dtype', rawFile({ a: { dtype: 'F33', shape: [3], data_offsets: [0, 12] } }, eight), /unknown dtype "F33"/],
      ['unsupported dtype', rawFile({ a: { dtype: 'F16', shape: [6], data_offsets: [0, 12] } }, eight), /dtype F16 is not supported/],
      ['negative shape', rawFile({ a: { dtype: 'F32', shape: [-3], data_offsets: [0, 12] } }, eight), /shape must be an array of non-negative integers/],
      ['offsets not a pair', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0] } }, eight), /data_offsets must be two/],
      ['offsets reversed', rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, eight), /out of range/],
      ['offsets past the end', rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, eight), /out of range of 12 data bytes/],
      ['shape × 4 ≠ byte length', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 12] } }, eight), /needs 8 bytes but data_offsets span 12/],
      [
        'overlapping tensors',
        rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, eight),
        /overlap/,
      ],
      [
        'a gap between tensors',
        rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, eight),
        /gap in the data before byte 8/,
      ],
      ['data not covered', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, eight), /cover 4 of 12/],
    ];
    it.each(cases)('%s', (_name, bytes, message) => {
      expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => decodeSafetensors(bytes)).toThrow(message);
    });

    it('the good file of these cases decodes', () => {
      expect(decodeSafetensors(good).tensors.size).toBe(2);
    });
  });
});
