// The chunked CSV conversion gives the dataset file the whole-body parser gives, byte for byte,
// wherever the chunks are cut (quoted newlines, CRLF, a BOM, multi-byte characters, a record
// longer than a chunk), and the same errors naming the same line and column.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertCsvFile, convertNdjsonFile } from '../../src/api/cpu/csv-upload.js';
import { DataError, encodeDataset, parseCsv, parseJsonRows } from '../../src/data/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'traind-csv-upload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function convert(text: string, chunk: number, options = {}): Buffer {
  const src = path.join(dir, `in-${chunk}.csv`);
  const out = path.join(dir, `out-${chunk}.bin`);
  writeFileSync(src, text);
  convertCsvFile(src, out, options, chunk);
  return readFileSync(out);
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

describe('convertCsvFile', () => {
  it('writes exactly what the whole-body parser encodes, for every chunk size', () => {
    const want = encodeDataset(parseCsv(tricky));
    for (const chunk of [1, 2, 7, 16, 64, 1024, 1 << 20]) expect(convert(tricky, chunk).equals(want), `chunk ${chunk}`).toBe(true);
  });

  it('several thousand rows across many chunks, with a chosen label', () => {
    const rows = ['a,b,c,target'];
    for (let i = 0; i < 5000; i++) rows.push(`${i},${(i * 0.37).toFixed(3)},"${i % 7}",${i % 3}`);
    const text = rows.join('\n');
    expect(convert(text, 4096, { label: 'target' }).equals(encodeDataset(parseCsv(text, { label: 'target' })))).toBe(true);
  });

  it('refuses what the whole-body parser refuses, naming the same line and column', () => {
    const bad = 'x,y,label\n1,2,0\n3,oops,1\n';
    const whole = (() => {
      try {
        parseCsv(bad);
      } catch (err) {
        return err as DataError;
      }
      return null;
    })();
    expect(whole).toBeInstanceOf(DataError);
    for (const chunk of [3, 1024]) {
      expect(() => convert(bad, chunk)).toThrow(whole?.message ?? 'never');
      try {
        convert(bad, chunk);
      } catch (err) {
        expect((err as DataError).path).toBe(whole?.path);
        expect((err as DataError).path).toBe('line.3.y');
      }
    }
    expect(() => convert('x,label\n1,"never closed\n', 4)).toThrow(/line 2: a quoted field is never closed/);
  });
});

describe('convertNdjsonFile', () => {
  function convertNd(text: string, chunk: number): Buffer {
    const src = path.join(dir, `nd-${chunk}.ndjson`);
    const out = path.join(dir, `nd-${chunk}.bin`);
    writeFileSync(src, text);
    convertNdjsonFile(src, out, {}, chunk);
    return readFileSync(out);
  }

  it('writes exactly what the whole-body parser encodes, for every chunk size, and the same errors', () => {
    const rows = ['\ufeff{"features": [1, 2.5], "label": 0}', '', '  {"features": [3, "x\\"y"], "label": 1}'];
    const good = ['\ufeff{"features": [1, 2.5], "label": 0}', '', '{"features": [3, 4], "label": [1]}\r', '{"features": [5, 6e-3], "label": 2}'].join('\n').replace('[1]', '1');
    const want = encodeDataset(parseJsonRows(good));
    for (const chunk of [1, 5, 64, 1 << 20]) expect(convertNd(good, chunk).equals(want), `chunk ${chunk}`).toBe(true);
    const bad = rows.join('\n');
    let whole: DataError | null = null;
    try {
      parseJsonRows(bad);
    } catch (err) {
      whole = err as DataError;
    }
    expect(whole?.path).toBe('line.3.features.1');
    for (const chunk of [3, 1024]) expect(() => convertNd(bad, chunk)).toThrow(whole?.message ?? 'never');
  });
});
