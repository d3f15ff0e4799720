// Rows to predict from a file: JSON (`[[…], …]`, one row `[…]`, or `{"inputs": […]}`) or CSV of
// numbers (a header row of names is skipped).
import path from 'node:path';
import { UsageError } from './describe-error.js';
import { readInputFile } from './dataset-files.js';

export async function readInputs(file: string): Promise<number[][]> {
  const text = (await readInputFile(file)).toString('utf8');
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return jsonRows(text, file);
  if (ext === '.csv') return csvRows(text, file);
  throw new UsageError(`${file}: expected a .json or .csv file of input rows`);
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
