// Runs in a CPU thread: an uploaded body (spooled to disk by the API) parsed, converted and
// stored as the dataset object. Nothing large crosses back to the API's event loop: only metadata.
import { readFileSync } from 'node:fs';
import { DataError, encodeDataset, parseCsv, parseIdx, parseJsonRows, type LoadedDataset, type ParseOptions } from '../../data/index.js';
import type { UploadResult, UploadTask } from './protocol.js';
import { threadStorage } from './thread-storage.js';

function need(file: string | undefined, name: string): string {
  if (file === undefined) throw new Error(`upload task without its "${name}" file`);
  return file;
}

function parse(t: UploadTask): LoadedDataset {
  const options: ParseOptions = { limits: t.limits };
  if (t.task !== undefined) options.task = t.task;
  if (t.format === 'idx') return parseIdx(readFileSync(need(t.files.images, 'images')), readFileSync(need(t.files.labels, 'labels')), options);
  const bytes = readFileSync(need(t.files.file, 'file'));
  if (t.format === 'csv') return parseCsv(bytes, t.label === undefined ? options : { ...options, label: t.label });
  return parseJsonRows(bytes, options);
}

export async function runUpload(t: UploadTask): Promise<UploadResult> {
  const loaded = parse(t);
  if (loaded.dataset.n === 0) throw new DataError('rows', 'the dataset has no rows');
  const bytes = encodeDataset(loaded);
  // The storage writes atomically: a reader never sees half a dataset.
  await threadStorage().put(t.outKey, bytes);
  const { meta } = loaded;
  return { rows: meta.rows, features: meta.features, classes: meta.classes, task: meta.task, targetWidth: meta.targetWidth, featureBytes: loaded.dataset.x instanceof Uint8Array ? 1 : 4, size: bytes.byteLength };
}
