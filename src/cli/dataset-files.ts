// Uploading files as the API wants them: one CSV/JSON/NDJSON file by its extension, or two IDX
// files (gzipped or not) told apart by their header, so `traind datasets upload *-ubyte.gz` works
// whatever order the shell lists them in.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Dataset, DatasetFormat, TraindClient, UploadOptions } from '../client/index.js';
import { UsageError } from './describe-error.js';

const FORMATS: Record<string, DatasetFormat> = { '.csv': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson' };

export async function readInputFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export async function uploadFiles(client: TraindClient, files: string[], o: UploadOptions): Promise<Dataset> {
  if (files.length === 1) {
    const file = files[0] as string;
    const format = FORMATS[path.extname(file).toLowerCase()];
    if (format === undefined) throw new UsageError(`${file}: expected a .csv, .json or .ndjson file, or two IDX files (images and labels)`);
    return client.uploadDataset(await readInputFile(file), format, { name: path.basename(file), ...o });
  }
  if (files.length === 2) {
    const [a, b] = await Promise.all(files.map(readInputFile));
    const dimsA = idxDimensions(a as Buffer, files[0] as string);
    const dimsB = idxDimensions(b as Buffer, files[1] as string);
    // Labels are a vector (1 dimension), images have 2 or more.
    if ((dimsA === 1) === (dimsB === 1)) throw new UsageError(`expected one IDX images file and one IDX labels file, got ${dimsA} and ${dimsB} dimensions`);
    const [images, labels] = dimsA === 1 ? [b as Buffer, a as Buffer] : [a as Buffer, b as Buffer];
    const { label: _label, ...rest } = o;
    return client.uploadIdx(images, labels, rest);
  }
  throw new UsageError('give one dataset file (.csv, .json, .ndjson) or two IDX files (images and labels)');
}

/** The number of dimensions in an IDX header (magic 0x00 0x00 type ndims). */
function idxDimensions(bytes: Buffer, file: string): number {
  let head = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      head = gunzipSync(bytes);
    } catch {
      throw new UsageError(`${file}: not a valid gzip file`);
    }
  }
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) throw new UsageError(`${file}: not an IDX file`);
  return head[3] as number;
}
