// Rows to predict from a file: JSON (`[[…], …]`, one row `[…]`, or `{"inputs": […]}`), CSV of
// numbers (a header row of names is skipped), little-endian float32 rows (.f32) or IDX images
// (.idx, .idx.gz, or MNIST's *-idx3-ubyte[.gz]) sent as they are: the server checks their shape.
import path from 'node:path';
import type { PredictInput } from '../client/index.js';
import { UsageError } from './describe-error.js';
import { readInputFile } from './dataset-files.js';

/** IDX by name: `.idx`, `.idx.gz`, or MNIST's `…-idx3-ubyte` (gzipped or not). */
function isIdxName(file: string): boolean {
  const name = path.basename(file).toLowerCase().replace(/\.gz$/, '');
  return name.endsWith('.idx') || /-idx\d-ubyte$/.test(name);
}

export async function readInputs(file: string): Promise<PredictInput> {
  const bytes = await readInputFile(file);
  const ext = path.extname(file).toLowerCase();
  if (isIdxName(file)) return { idx: bytes };
  if (ext === '.f32') {
    if (bytes.length % 4 !== 0) throw new UsageError(`${file}: ${bytes.length} bytes is not a whole number of float32 values`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
  }
  const text = bytes.toString('utf8');
  if (ext === '.json') return jsonRows(text, file);
  if (ext === '.csv') return csvRows(text, file);
  throw new UsageError(`${file}: expected a .json or .csv file of input rows, .f32 (little-endian float32 rows) or IDX images (.idx, .idx.gz)`);
}

function jsonRows(text: string, file: string): number[][] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: invalid JSON (${(err as Error).message})`);
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'inputs' in v) v = (v as { inputs: unknown }).inputs;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return [v as number[]];
  // The server validates the numbers and names the failing row; here only the shape matters.
  if (Array.isArray(v)) return v as number[][];
  throw new UsageError(`${file}: expected an array of rows, one row, or {"inputs": [...]}`);
}

function csvRows(text: string, file: string): number[][] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const rows = lines.map((l) => l.split(',').map((c) => c.trim()));
  if (rows.length > 0 && rows[0]?.some((c) => c === '' || Number.isNaN(Number(c)))) rows.shift();
  return rows.map((r, i) =>
    r.map((c, j) => {
      const n = Number(c);
      if (c === '' || Number.isNaN(n)) throw new UsageError(`${file}: row ${i + 1}, column ${j + 1} is not a number: ${JSON.stringify(c)}`);
      return n;
    }),
  );
}
