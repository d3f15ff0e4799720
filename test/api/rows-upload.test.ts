// The streamed conversion writes the dataset object the whole-body parser encodes, byte for byte,
// wherever the body's chunks are cut (quoted newlines, CRLF, a BOM, multi-byte characters, a
// record longer than a chunk), and gives the same errors naming the same line and column; a
// refused body leaves no object behind.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetObjectWriter } from '../../src/api/cpu/dataset-writer.js';
import { convertCsv, convertJsonRows } from '../../src/api/cpu/rows-upload.js';
import { DataError, encodeDataset, parseCsv, parseJsonRows, type CsvOptions, type LoadedDataset } from '../../src/data/index.js';
import { LocalStorage } from '../../src/storage/local-storage.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'traind-rows-upload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const storage = new LocalStorage(dir);
let objects = 0;

/** The body in pieces of `chunk` bytes, as a request body arrives. */
function pieces(text: string, chunk: number): Readable {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunk) out.push(bytes.subarray(at, at + chunk));
  return Readable.from(out);
}

type Convert = (body: Readable, options: CsvOptions, sink: DatasetObjectWriter, chunkBytes: number) => Promise<LoadedDataset>;

/** Converts into a dataset object in the store and reads it back; a failed conversion stores nothing (no scratch either). */
async function stored(run: Convert, text: string, chunk: number, options: CsvOptions = {}): Promise<Buffer> {
  const key = `datasets/t${objects}.bin`;
  const scratch = `uploads/t${objects++}/targets`;
  const writer = new DatasetObjectWriter(storage, key, scratch);
  try {
    await writer.finish(await run(pieces(text, chunk), options, writer, chunk));
  } catch (err) {
    await writer.abort(err as Error);
    expect(await storage.stat(key)).toBeNull();
    expect(await storage.stat(scratch)).toBeNull();
    throw err;
  }
  // The targets' scratch object is gone once they are in the dataset.
  expect(await storage.stat(scratch)).toBeNull();
  return (await storage.get(key))!;
}

const csv = (text: string, chunk: number, options: CsvOptions = {}) => stored(convertCsv, text, chunk, options);
const json = (text: string, chunk: number) => stored(convertJsonRows, text, chunk);

function errorOf(fn: () => unknown): DataError | null {
  try {
    fn();
  } catch (err) {
    return err as DataError;
  }
  return null;
}

const tricky = [
  '\ufeff"x, the',
  'first ""one""",yé,label',
  '1.5,2,0',
  '"3",4,1\r',
  '',
  '"5","6",0',
  `0.${'7'.repeat(300)},8,1`,
  '9,"1",1',
  '2,3,0',
].join('\n');

describe('convertCsv', () => {
  it('writes exactly what the whole-body parser encodes, for every chunk size', async () => {
    const want = encodeDataset(parseCsv(tricky));
    for (const chunk of [1, 2, 7, 16, 64, 1024, 1 << 20]) expect((await csv(tricky, chunk)).equals(want), `chunk ${chunk}`).toBe(true);
  });

  it('several thousand rows across many chunks, with a chosen label', async () => {
    const rows = ['a,b,c,target'];
    for (let i = 0; i < 5000; i++) rows.push(`${i},${(i * 0.37).toFixed(3)},"${i % 7}",${i % 3}`);
    const text = rows.join('\n');
    expect((await csv(text, 4096, { label: 'target' })).equals(encodeDataset(parseCsv(text, { label: 'target' })))).toBe(true);
  });

  it('refuses what the whole-body parser refuses, naming the same line and column', async () => {
    const bad = 'x,y,label\n1,2,0\n3,oops,1\n';
    const whole = errorOf(() => parseCsv(bad));
    expect(whole).toBeInstanceOf(DataError);
    for (const chunk of [3, 1024]) {
      const err = await csv(bad, chunk).catch((e: unknown) => e as DataError);
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).message).toBe(whole?.message);
      expect((err as DataError).path).toBe('line.3.y');
    }
    await expect(csv('x,label\n1,"never closed\n', 4)).rejects.toThrow(/line 2: a quoted field is never closed/);
  });
});

describe('convertJsonRows', () => {
  it('NDJSON: writes exactly what the whole-body parser encodes, for every chunk size, and the same errors', async () => {
    const rows = ['\ufeff{"features": [1, 2.5], "label": 0}', '', '  {"features": [3, "x\\"y"], "label": 1}'];
    const good = ['\ufeff{"features": [1, 2.5], "label": 0}', '', '{"features": [3, 4], "label": [1]}\r', '{"features": [5, 6e-3], "label": 2}'].join('\n').replace('[1]', '1');
    const want = encodeDataset(parseJsonRows(good));
    for (const chunk of [1, 5, 64, 1 << 20]) expect((await json(good, chunk)).equals(want), `chunk ${chunk}`).toBe(true);
    const bad = rows.join('\n');
    const whole = errorOf(() => parseJsonRows(bad));
    expect(whole?.path).toBe('line.3.features.1');
    for (const chunk of [3, 1024]) await expect(json(bad, chunk)).rejects.toThrow(whole?.message ?? 'never');
  });

  it('a JSON array: the same object as the whole-body parser for every chunk size, strings with brackets, quotes and escapes included', async () => {
    const good = ' \n[{"features": [1, 2.5], "label": 0, "note": "a ] } [ { , \\" \\\\"}, {"features":[3,4],"label":1} ,\n{"label": 2, "features": [5, 6e-3], "é": "ü"}]\n';
    const want = encodeDataset(parseJsonRows(good));
    expect(parseJsonRows(good).meta.rows).toBe(3);
    for (const chunk of [1, 2, 5, 64, 1 << 20]) expect((await json(good, chunk)).equals(want), `chunk ${chunk}`).toBe(true);
  });

  it('a JSON array: the same errors as the whole-body parser, naming the row', async () => {
    for (const [bad, path] of [
      ['[{"features":[1,2],"label":0},{"features":[1,"2"],"label":1}]', 'rows.1.features.1'],
      ['[{"features":[1],"label":0},{"features":[1,2],"label":1}]', 'rows.1.features'],
      ['[{"features":[1],"label":0},{"features":[1],"label":0,}]', 'rows.1'],
      ['[{"features":[1],"label":0},]', 'rows'],
      ['[{"features":[1],"label":0}] x', 'rows'],
      ['[{"features":[1],', 'rows'],
      ['[]', 'rows'],
    ] as const) {
      const whole = errorOf(() => parseJsonRows(bad));
      expect(whole?.path, bad).toBe(path);
      for (const chunk of [1, 4, 1024]) {
        const err = await json(bad, chunk).catch((e: unknown) => e as DataError);
        expect(err, `${bad} in ${chunk}-byte pieces`).toBeInstanceOf(DataError);
        expect([(err as DataError).path, (err as DataError).message]).toEqual([whole?.path, whole?.message]);
      }
    }
    await expect(json('  \n ', 1)).rejects.toThrow(/the dataset is empty/);
  });
});
