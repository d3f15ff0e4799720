// Runs in a CPU thread: an uploaded body (spooled to disk by the API) parsed, converted and
// written as the dataset file. Nothing large crosses back to the API's event loop: only metadata.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataError, encodeDataset, parseCsv, parseIdx, parseJsonRows, type LoadedDataset, type ParseOptions } from '../../data/index.js';
import { asStorageFull } from '../../store/storage-full.js';
import type { UploadResult, UploadTask } from './protocol.js';

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

export function runUpload(t: UploadTask): UploadResult {
  const loaded = parse(t);
  if (loaded.dataset.n === 0) throw new DataError('rows', 'the dataset has no rows');
  const bytes = encodeDataset(loaded);
  // Temporary name + rename: a reader never sees half a dataset file.
  mkdirSync(path.dirname(t.outPath), { recursive: true });
  const tmp = `${t.outPath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, bytes, { flush: true });
    renameSync(tmp, t.outPath);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw asStorageFull(err, `datasets/${path.basename(t.outPath)}`, bytes.byteLength);
  }
  const { meta } = loaded;
  return { rows: meta.rows, features: meta.features, classes: meta.classes, task: meta.task, targetWidth: meta.targetWidth, size: bytes.byteLength };
}
