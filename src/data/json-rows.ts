// JSON datasets: NDJSON (one object per line) or a JSON array, each row
// {"features": number[], "label": number | number[]}. Numbers are taken as they are.

import { DataError } from './errors.js';
import { GrowableFloat32 } from './growable.js';
import { describeTargets } from './infer-task.js';
import { checkConvertedSize, checkFeatures, checkRows } from './limits.js';
import { numberProblem } from './numbers.js';
import type { FeatureSink } from './csv.js';
import { describeValue, inputPrefix } from './quote-input.js';
import type { LoadedDataset, ParseOptions } from './types.js';

export function parseJsonRows(input: string | Uint8Array, options: ParseOptions = {}): LoadedDataset {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const trimmed = body.trimStart();
  if (trimmed === '') throw new DataError('rows', 'the dataset is empty');
  const acc = new RowAccumulator(options);
  if (trimmed.startsWith('[')) {
    let rows: unknown;
    try {
      rows = JSON.parse(body);
    } catch (err) {
      throw new DataError('rows', `not valid JSON: ${inputPrefix((err as Error).message, 200)}`);
    }
    if (!Array.isArray(rows)) throw new DataError('rows', 'expected a JSON array of rows');
    rows.forEach((row: unknown, r) => acc.add(row, `rows.${r}`, `row ${r}`));
  } else {
    const parser = new NdjsonParser(options, acc);
    parser.feed(body);
  }
  return acc.finish();
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
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (err) {
        throw new DataError(`line.${l}`, `line ${l} is not valid JSON: ${inputPrefix((err as Error).message, 200)}`);
      }
      this.acc.add(row, `line.${l}`, `line ${l}`);
    }
  }

  finish(): LoadedDataset {
    return this.acc.finish();
  }
}

export class RowAccumulator {
  private y = new GrowableFloat32();
  private rows = 0;
  private features = -1;
  private targetWidth = -1;

  constructor(
    private readonly options: ParseOptions,
    private readonly x: FeatureSink & { toArray?(): Float32Array } = new GrowableFloat32(),
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
    if (this.targetWidth < 0) this.targetWidth = labels.length;
    else if (labels.length !== this.targetWidth) {
      throw new DataError(`${path}.label`, `${where} has ${labels.length} label values, earlier rows have ${this.targetWidth}`);
    }
    this.rows++;
    checkRows(this.rows, this.options.limits);
    features.forEach((v: unknown, c) => this.x.push(checked(v, `${path}.features.${c}`, `${where}, feature ${c}`)));
    const labelPath = Array.isArray(label) ? (c: number) => `${path}.label.${c}` : () => `${path}.label`;
    labels.forEach((v: unknown, c) => this.y.push(checked(v, labelPath(c), `${where}, label`)));
    checkConvertedSize(this.x.length + this.y.length, this.options.limits, path);
  }

  finish(): LoadedDataset {
    if (this.rows === 0) throw new DataError('rows', 'the dataset has no rows');
    const y = this.y.toArray();
    const { task, classes } = describeTargets(y, this.rows, this.targetWidth, this.options.task);
    const meta = { rows: this.rows, features: this.features, classes, task, targetWidth: this.targetWidth };
    // A sink that is not memory (a file) leaves x empty: the features are the sink's.
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
