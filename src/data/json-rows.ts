// JSON datasets: NDJSON (one object per line) or a JSON array, each row
// {"features": number[], "label": number | number[]}. Numbers are taken as they are.

import { DataError } from './errors.js';
import { GrowableFloat32 } from './growable.js';
import { TargetStats } from './infer-task.js';
import { checkConvertedSize, checkFeatures, checkRows } from './limits.js';
import { numberProblem } from './numbers.js';
import type { FeatureSink, TargetSink } from './csv.js';
import { describeValue, inputPrefix } from './quote-input.js';
import type { LoadedDataset, ParseOptions } from './types.js';

export function parseJsonRows(input: string | Uint8Array, options: ParseOptions = {}): LoadedDataset {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const trimmed = body.trimStart();
  if (trimmed === '') throw new DataError('rows', 'the dataset is empty');
  const acc = new RowAccumulator(options);
  if (trimmed.startsWith('[')) {
    // The same incremental parser a streamed upload uses, so both say the same things.
    const parser = new JsonArrayParser(acc);
    parser.feed(Buffer.from(trimmed, 'utf8'));
    return parser.finish();
  } else {
    const parser = new NdjsonParser(options, acc);
    parser.feed(body);
  }
  return acc.finish();
}

/** One row's JSON text parsed; a DataError naming the row (`where`) when it is not JSON. */
function parseRow(text: string, path: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DataError(path, `${where} is not valid JSON: ${inputPrefix((err as Error).message, 200)}`);
  }
}

/**
 * NDJSON parsed piece by piece: `feed` takes text that ends at a line break (the whole body, or
 * chunks cut after a newline), in order. JSON strings hold no raw newline, so every newline ends a
 * row. Features go to the accumulator's sink (for a large upload, a file).
 */
export class NdjsonParser {
  private line = 1;

  constructor(
    options: ParseOptions,
    private readonly acc: RowAccumulator = new RowAccumulator(options),
  ) {}

  feed(chunk: string): void {
    const text = this.line === 1 && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
    const lines = text.split('\n');
    // The piece after the last newline is empty when the chunk ends with one; it is the last line otherwise.
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    for (const raw of lines) {
      const l = this.line++;
      const line = raw.trim();
      if (line === '') continue;
      this.acc.add(parseRow(line, `line.${l}`, `line ${l}`), `line.${l}`, `line ${l}`);
    }
  }

  finish(): LoadedDataset {
    return this.acc.finish();
  }
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * A JSON array of rows `[{"features": [...], "label": ...}, …]` parsed as its bytes arrive, in
 * chunks cut anywhere: each row's bytes are found by counting brackets outside strings, then that
 * row alone is JSON.parse'd and handed to the accumulator. Memory: one row's text, not the array.
 * Brackets, quotes and backslashes never occur inside a UTF-8 multi-byte character.
 */
export class JsonArrayParser {
  private state: 'start' | 'first' | 'next' | 'row' | 'after' | 'closed' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Uint8Array[] = [];
  private rows = 0;

  constructor(private readonly acc: RowAccumulator) {}

  feed(bytes: Uint8Array): void {
    let rowStart = this.state === 'row' ? 0 : -1;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (this.state === 'row') {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (b === BACKSLASH) this.escaped = true;
          else if (b === QUOTE) this.inString = false;
          continue;
        }
        if (b === QUOTE) this.inString = true;
        else if (b === OPEN_BRACKET || b === OPEN_BRACE) this.depth++;
        else if ((b === COMMA || b === CLOSE_BRACKET) && this.depth === 0) {
          this.parts.push(bytes.subarray(rowStart, i));
          this.endRow();
          this.state = b === COMMA ? 'next' : 'closed';
        } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) this.depth--;
        continue;
      }
      if (isSpace(b) || (this.state === 'start' && (b === 0xef || b === 0xbb || b === 0xbf))) continue;
      if (this.state === 'start') {
        if (b !== OPEN_BRACKET) throw new DataError('rows', 'expected a JSON array of rows');
        this.state = 'first';
      } else if (this.state === 'first' && b === CLOSE_BRACKET) {
        this.state = 'closed';
      } else if (this.state === 'first' || this.state === 'next') {
        if (b === CLOSE_BRACKET || b === COMMA) throw new DataError('rows', `not valid JSON: ${String.fromCharCode(b)} where row ${this.rows} should be`);
        this.state = 'row';
        rowStart = i;
        i--;
      } else {
        throw new DataError('rows', `not valid JSON: text after the array's closing bracket`);
      }
    }
    if (this.state === 'row') this.parts.push(bytes.slice(Math.max(rowStart, 0)));
  }

  private endRow(): void {
    const text = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    const r = this.rows++;
    this.acc.add(parseRow(text, `rows.${r}`, `row ${r}`), `rows.${r}`, `row ${r}`);
  }

  finish(): LoadedDataset {
    if (this.state === 'start') throw new DataError('rows', 'the dataset is empty');
    if (this.state !== 'closed') throw new DataError('rows', "not valid JSON: the body ends before the array's closing bracket");
    return this.acc.finish();
  }
}

export class RowAccumulator {
  private stats = new TargetStats(1);
  private rows = 0;
  private features = -1;
  private targetWidth = -1;

  constructor(
    private readonly options: ParseOptions,
    private readonly x: FeatureSink & { toArray?(): Float32Array } = new GrowableFloat32(),
    private readonly y: TargetSink = new GrowableFloat32(),
  ) {}

  add(row: unknown, path: string, where: string): void {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new DataError(path, `${where}: expected an object {"features": [...], "label": ...}`);
    }
    const { features, label } = row as { features?: unknown; label?: unknown };
    if (!Array.isArray(features)) throw new DataError(`${path}.features`, `${where}: "features" must be an array of numbers`);
    if (features.length === 0) throw new DataError(`${path}.features`, `${where}: "features" is empty`);
    if (this.features < 0) {
      checkFeatures(features.length, this.options.limits);
      this.features = features.length;
    } else if (features.length !== this.features) {
      throw new DataError(
        `${path}.features`,
        `${where} has ${features.length} features, earlier rows have ${this.features}`,
      );
    }
    const labels = Array.isArray(label) ? label : [label];
    if (label === undefined) throw new DataError(`${path}.label`, `${where}: "label" is missing`);
    if (labels.length === 0) throw new DataError(`${path}.label`, `${where}: "label" is an empty array`);
    if (this.targetWidth < 0) {
      this.targetWidth = labels.length;
      this.stats = new TargetStats(labels.length);
    }
    else if (labels.length !== this.targetWidth) {
      throw new DataError(`${path}.label`, `${where} has ${labels.length} label values, earlier rows have ${this.targetWidth}`);
    }
    this.rows++;
    checkRows(this.rows, this.options.limits);
    features.forEach((v: unknown, c) => this.x.push(checked(v, `${path}.features.${c}`, `${where}, feature ${c}`)));
    const labelPath = Array.isArray(label) ? (c: number) => `${path}.label.${c}` : () => `${path}.label`;
    labels.forEach((v: unknown, c) => {
      const value = checked(v, labelPath(c), `${where}, label`);
      this.y.push(value);
      this.stats.push(value);
    });
    checkConvertedSize(this.x.length + this.y.length, this.options.limits, path);
  }

  finish(): LoadedDataset {
    if (this.rows === 0) throw new DataError('rows', 'the dataset has no rows');
    const y = this.y.toArray?.() ?? new Float32Array(0);
    const { task, classes } = this.stats.describe(this.rows, this.options.task);
    const meta = { rows: this.rows, features: this.features, classes, task, targetWidth: this.targetWidth };
    // Sinks that are not memory (a streamed upload's) leave x and y empty: the values are theirs.
    const x = this.x.toArray?.() ?? new Float32Array(0);
    return { dataset: { x, y, n: this.rows, features: this.features, targetWidth: this.targetWidth }, meta };
  }
}

function checked(v: unknown, path: string, where: string): number {
  if (typeof v !== 'number') throw new DataError(path, `${where}: ${describeValue(v)} is not a number`);
  const problem = numberProblem(v);
  if (problem !== null) throw new DataError(path, `${where}: ${v} ${problem}`);
  return v;
}
