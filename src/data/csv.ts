// CSV datasets: a header row naming the columns, one numeric row per sample. The label column(s)
// are chosen by name; every other column is a feature, taken as given (no scaling).

import { DataError } from './errors.js';
import { GrowableFloat32 } from './growable.js';
import { describeTargets } from './infer-task.js';
import { checkFeatures, checkRows } from './limits.js';
import { parseCell } from './numbers.js';
import type { LoadedDataset, ParseOptions } from './types.js';

export interface CsvOptions extends ParseOptions {
  /** Label column name(s). Default: the column named "label" if there is one, else the last column. */
  label?: string | string[];
}

export function parseCsv(input: string | Uint8Array, options: CsvOptions = {}): LoadedDataset {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let header: string[] | null = null;
  let labelIdx: number[] = [];
  let featureIdx: number[] = [];
  const x = new GrowableFloat32();
  const y = new GrowableFloat32();
  let rows = 0;

  forEachRecord(body, (fields, line) => {
    if (header === null) {
      header = fields.map((f) => f.trim());
      ({ labelIdx, featureIdx } = chooseColumns(header, options.label));
      checkFeatures(featureIdx.length, options.limits);
      return;
    }
    if (fields.length !== header.length) {
      throw new DataError(`line.${line}`, `line ${line} has ${fields.length} fields, the header has ${header.length}`);
    }
    rows++;
    checkRows(rows, options.limits);
    for (const c of featureIdx) x.push(cellValue(fields, c, header, line));
    for (const c of labelIdx) y.push(cellValue(fields, c, header, line, LABEL_HINT));
  });

  if (header === null) throw new DataError('header', 'the CSV is empty: expected a header row naming the columns');
  if (rows === 0) throw new DataError('rows', 'the CSV has a header but no data rows');
  const features = featureIdx.length;
  const targetWidth = labelIdx.length;
  const yArr = y.toArray();
  const { task, classes } = describeTargets(yArr, rows, targetWidth, options.task);
  const names: string[] = header;
  return {
    dataset: { x: x.toArray(), y: yArr, n: rows, features, targetWidth },
    meta: { rows, features, classes, task, targetWidth },
    featureNames: featureIdx.map((c) => names[c] as string),
  };
}

function chooseColumns(header: string[], label: string | string[] | undefined): { labelIdx: number[]; featureIdx: number[] } {
  const seen = new Set<string>();
  header.forEach((name, c) => {
    if (name === '') throw new DataError(`header.${c}`, `column ${c + 1} of the header has no name`);
    if (seen.has(name)) throw new DataError(`header.${name}`, `column "${name}" appears twice in the header`);
    seen.add(name);
  });
  let wanted: string[];
  if (label === undefined) wanted = [header.includes('label') ? 'label' : (header[header.length - 1] as string)];
  else wanted = Array.isArray(label) ? label : [label];
  if (wanted.length === 0) throw new DataError('label', 'no label column given');
  const labelIdx = wanted.map((name) => {
    const c = header.indexOf(name);
    if (c < 0) throw new DataError('label', `label column "${name}" is not in the header (columns: ${header.join(', ')})`);
    return c;
  });
  const featureIdx = header.map((_, c) => c).filter((c) => !labelIdx.includes(c));
  if (featureIdx.length === 0) throw new DataError('header', 'the CSV has no feature columns besides the label');
  return { labelIdx, featureIdx };
}

const LABEL_HINT = ' (labels must be numbers: class indices 0…K−1, or regression targets)';

function cellValue(fields: string[], c: number, header: string[], line: number, hint = ''): number {
  const v = parseCell(fields[c] as string);
  if (typeof v === 'number') return v;
  const column = header[c] as string;
  throw new DataError(`line.${line}.${column}`, `line ${line}, column "${column}": ${v}${hint}`);
}

/**
 * Calls `onRecord` for each non-blank record with its fields and the 1-based line it starts on.
 * RFC 4180 quoting ("a,b", "say ""hi""", newlines inside quotes); unquoted lines take a fast path.
 */
function forEachRecord(text: string, onRecord: (fields: string[], line: number) => void): void {
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const startLine = line;
    let eol = text.indexOf('\n', i);
    if (eol < 0) eol = n;
    const raw = text.slice(i, eol);
    if (!raw.includes('"')) {
      const rec = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      i = eol + 1;
      line++;
      if (rec.trim() !== '') onRecord(rec.split(','), startLine);
      continue;
    }
    const fields: string[] = [];
    let cur = '';
    let inQuotes = false;
    let j = i;
    for (; j < n; j++) {
      const ch = text[j];
      if (inQuotes) {
        if (ch === '"') {
          if (text[j + 1] === '"') {
            cur += '"';
            j++;
          } else inQuotes = false;
        } else {
          if (ch === '\n') line++;
          cur += ch;
        }
      } else if (ch === '"') inQuotes = true;
      else if (ch === ',') {
        fields.push(cur);
        cur = '';
      } else if (ch === '\n' || ch === '\r') break;
      else cur += ch;
    }
    if (inQuotes) throw new DataError(`line.${startLine}`, `line ${startLine}: a quoted field is never closed`);
    fields.push(cur);
    if (text[j] === '\r') j++;
    if (text[j] === '\n') j++;
    line++;
    i = j;
    if (fields.length > 1 || (fields[0] as string).trim() !== '') onRecord(fields, startLine);
  }
}
