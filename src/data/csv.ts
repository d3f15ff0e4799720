// CSV datasets: a header row naming the columns, one numeric row per sample. The label column(s)
// are chosen by name; every other column is a feature, taken as given (no scaling).

import { DataError } from './errors.js';
import { GrowableFloat32 } from './growable.js';
import { TargetStats } from './infer-task.js';
import { checkConvertedSize, checkFeatures, checkRows } from './limits.js';
import { parseCell } from './numbers.js';
import { inputPrefix, quoteInput } from './quote-input.js';
import type { LoadedDataset, ParseOptions } from './types.js';

export interface CsvOptions extends ParseOptions {
  /** Label column name(s). Default: the column named "label" if there is one, else the last column. */
  label?: string | string[];
}

export function parseCsv(input: string | Uint8Array, options: CsvOptions = {}): LoadedDataset {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  const x = new GrowableFloat32();
  const parser = new CsvParser(options, x);
  parser.feed(text);
  const parsed = parser.finish();
  return { ...parsed, dataset: { ...parsed.dataset, x: x.toArray() } };
}

/** Where a parser puts the feature values, row after row: memory, or a file for large uploads. */
export interface FeatureSink {
  push(value: number): void;
  readonly length: number;
}

/** Where a parser puts the target values, row after row: memory (toArray), or a streamed upload's sink. */
export interface TargetSink extends FeatureSink {
  toArray?(): Float32Array;
}

/** Where a streamed upload's features go: values, or raw bytes (IDX pixels), with backpressure. */
export interface DatasetSink extends FeatureSink {
  pushBytes(bytes: Uint8Array): void;
  /** Resolves when the consumer has taken what was pushed so far, or enough of it. */
  drained(): Promise<void>;
  /** Where the targets go, kept out of memory too. */
  readonly targets: TargetSink;
}

/**
 * A CSV parsed piece by piece: `feed` takes text that ends at a record boundary (the whole file,
 * or chunks cut after a newline outside quotes), in order; features go to the sink, targets stay
 * here (they decide the task and the classes). `finish` returns the dataset with an empty `x`:
 * the features are the sink's.
 */
export class CsvParser {
  private header: string[] | null = null;
  private labelIdx: number[] = [];
  private featureIdx: number[] = [];
  private stats = new TargetStats(1);
  private rows = 0;
  private line = 1;

  constructor(
    private readonly options: CsvOptions,
    private readonly x: FeatureSink,
    private readonly y: TargetSink = new GrowableFloat32(),
  ) {}

  feed(chunk: string): void {
    const text = this.line === 1 && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
    const width = (): number => (this.header === null ? Infinity : this.header.length);
    this.line = forEachRecord(text, width, (fields, line) => this.record(fields, line), this.line);
  }

  private record(fields: string[], line: number): void {
    const header = this.header;
    if (header === null) {
      this.header = fields.map((f) => f.trim());
      ({ labelIdx: this.labelIdx, featureIdx: this.featureIdx } = chooseColumns(this.header, this.options.label));
      this.stats = new TargetStats(this.labelIdx.length);
      checkFeatures(this.featureIdx.length, this.options.limits);
      return;
    }
    if (fields.length !== header.length) {
      const count = fields.length > header.length ? `more than ${header.length}` : String(fields.length);
      throw new DataError(`line.${line}`, `line ${line} has ${count} fields, the header has ${header.length}`);
    }
    this.rows++;
    checkRows(this.rows, this.options.limits);
    for (const c of this.featureIdx) this.x.push(cellValue(fields, c, header, line));
    for (const c of this.labelIdx) {
      const v = cellValue(fields, c, header, line, LABEL_HINT);
      this.y.push(v);
      this.stats.push(v);
    }
    checkConvertedSize(this.x.length + this.y.length, this.options.limits, `line.${line}`);
  }

  finish(): LoadedDataset {
    const header = this.header;
    const rows = this.rows;
    if (header === null) throw new DataError('header', 'the CSV is empty: expected a header row naming the columns');
    if (rows === 0) throw new DataError('rows', 'the CSV has a header but no data rows');
    const features = this.featureIdx.length;
    const targetWidth = this.labelIdx.length;
    // A sink that is not memory (a streamed upload's) leaves y empty: the targets are the sink's.
    const yArr = this.y.toArray?.() ?? new Float32Array(0);
    const { task, classes } = this.stats.describe(rows, this.options.task);
    return {
      dataset: { x: new Float32Array(0), y: yArr, n: rows, features, targetWidth },
      meta: { rows, features, classes, task, targetWidth },
      featureNames: this.featureIdx.map((c) => header[c] as string),
    };
  }
}

function chooseColumns(header: string[], label: string | string[] | undefined): { labelIdx: number[]; featureIdx: number[] } {
  const seen = new Set<string>();
  header.forEach((name, c) => {
    if (name === '') throw new DataError(`header.${c}`, `column ${c + 1} of the header has no name`);
    if (seen.has(name)) throw new DataError(`header.${inputPrefix(name)}`, `column ${quoteInput(name)} appears twice in the header`);
    seen.add(name);
  });
  let wanted: string[];
  if (label === undefined) wanted = [header.includes('label') ? 'label' : (header[header.length - 1] as string)];
  else wanted = Array.isArray(label) ? label : [label];
  if (wanted.length === 0) throw new DataError('label', 'no label column given');
  const labelIdx = wanted.map((name) => {
    const c = header.indexOf(name);
    if (c < 0) throw new DataError('label', `label column ${quoteInput(name)} is not in the header (columns: ${listColumns(header)})`);
    return c;
  });
  const featureIdx = header.map((_, c) => c).filter((c) => !labelIdx.includes(c));
  if (featureIdx.length === 0) throw new DataError('header', 'the CSV has no feature columns besides the label');
  return { labelIdx, featureIdx };
}

/** The header's column names for a message: the first few, quoted. */
function listColumns(header: string[], max = 10): string {
  const shown = header.slice(0, max).map((name) => quoteInput(name));
  return header.length > max ? `${shown.join(', ')}, … ${header.length} in all` : shown.join(', ');
}

const LABEL_HINT = ' (labels must be numbers: class indices 0…K−1, or regression targets)';

function cellValue(fields: string[], c: number, header: string[], line: number, hint = ''): number {
  const v = parseCell(fields[c] as string);
  if (typeof v === 'number') return v;
  const column = header[c] as string;
  throw new DataError(`line.${line}.${inputPrefix(column)}`, `line ${line}, column ${quoteInput(column)}: ${v}${hint}`);
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Calls `onRecord` for each non-blank record with its fields and the 1-based line it starts on
 * (counting from `firstLine`); returns the line after the text.
 * RFC 4180 quoting ("a,b", "say ""hi""", newlines inside quotes); unquoted lines take a fast path.
 * Linear time: fields are cut with slice/indexOf, never grown a character at a time (a 50 MB
 * quoted cell built with `+=` took 39 s).
 */
function forEachRecord(text: string, maxFields: () => number, onRecord: (fields: string[], line: number) => void, firstLine = 1): number {
  const n = text.length;
  let i = 0;
  let line = firstLine;
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
    // A field is unquoted and quoted segments side by side (`a"b,c"d` is one field `ab,cd`).
    let field = '';
    let j = i;
    for (;;) {
      let k = j;
      while (k < n) {
        const c = text.charCodeAt(k);
        if (c === COMMA || c === LF || c === CR || c === QUOTE) break;
        k++;
      }
      if (k > j) field += text.slice(j, k);
      if (k < n && text.charCodeAt(k) === QUOTE) {
        const quoted = readQuoted(text, k + 1, startLine);
        field += quoted.value;
        line += quoted.newlines;
        j = quoted.end;
        continue;
      }
      fields.push(field);
      field = '';
      // A record wider than the header is refused by the caller: stop cutting it up early.
      if (fields.length > maxFields()) break;
      if (k < n && text.charCodeAt(k) === COMMA) {
        j = k + 1;
        continue;
      }
      j = k;
      break;
    }
    if (fields.length > maxFields()) {
      onRecord(fields, startLine);
      return line;
    }
    if (text.charCodeAt(j) === CR) j++;
    if (text.charCodeAt(j) === LF) j++;
    line++;
    i = j;
    if (fields.length > 1 || (fields[0] as string).trim() !== '') onRecord(fields, startLine);
  }
  return line;
}

/** The quoted segment starting after its opening quote at `start`: its value, where it ends, newlines in it. */
function readQuoted(text: string, start: number, line: number): { value: string; end: number; newlines: number } {
  let from = start;
  let escaped = false;
  let close = text.indexOf('"', from);
  // `""` inside quotes is one quote character: skip pairs to find the closing quote.
  while (close >= 0 && text.charCodeAt(close + 1) === QUOTE) {
    escaped = true;
    from = close + 2;
    close = text.indexOf('"', from);
  }
  if (close < 0) throw new DataError(`line.${line}`, `line ${line}: a quoted field is never closed`);
  const inner = text.slice(start, close);
  let newlines = 0;
  for (let p = inner.indexOf('\n'); p >= 0; p = inner.indexOf('\n', p + 1)) newlines++;
  return { value: escaped ? inner.replaceAll('""', '"') : inner, end: close + 1, newlines };
}
