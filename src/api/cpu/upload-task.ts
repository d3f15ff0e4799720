// Runs in a CPU thread: an uploaded body (spooled to disk by the API) parsed, converted and
// stored as the dataset object. Nothing large crosses back to the API's event loop: only metadata.
// CSV and NDJSON are converted chunk by chunk into a scratch file that is streamed to the storage
// (cpu/csv-upload.ts), so their memory does not grow with the body; a JSON array and IDX (bounded
// by MAX_UNCOMPRESSED_BYTES) are parsed whole.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { DataError, encodeDataset, parseIdx, parseJsonRows, type LoadedDataset, type ParseOptions } from '../../data/index.js';
import { asStorageFull } from '../../store/storage-full.js';
import { convertCsvFile, convertNdjsonFile } from './csv-upload.js';
import type { UploadResult, UploadTask } from './protocol.js';
import { threadStorage } from './thread-storage.js';

function need(file: string | undefined, name: string): string {
  if (file === undefined) throw new Error(`upload task without its "${name}" file`);
  return file;
}

function parse(t: UploadTask, options: ParseOptions): LoadedDataset {
  if (t.format === 'idx') return parseIdx(readFileSync(need(t.files.images, 'images')), readFileSync(need(t.files.labels, 'labels')), options);
  return parseJsonRows(readFileSync(need(t.files.file, 'file')), options);
}

/** True when the JSON body is rows one per line, not a JSON array (nor empty): it can be streamed. */
function isLineDelimited(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const text = head.toString('utf8', 0, readSync(fd, head, 0, head.length, 0)).replace(/^\ufeff/, '').trimStart();
    return text !== '' && !text.startsWith('[');
  } finally {
    closeSync(fd);
  }
}

function resultOf(loaded: LoadedDataset, size: number): UploadResult {
  const { meta } = loaded;
  // A CSV converted in chunks has float32 features; its `x` here is empty.
  const featureBytes = loaded.dataset.x instanceof Uint8Array ? 1 : 4;
  return { rows: meta.rows, features: meta.features, classes: meta.classes, task: meta.task, targetWidth: meta.targetWidth, featureBytes, size };
}

export async function runUpload(t: UploadTask): Promise<UploadResult> {
  const options: ParseOptions = { limits: t.limits };
  if (t.task !== undefined) options.task = t.task;
  if (t.format === 'csv' || (t.format !== 'idx' && isLineDelimited(need(t.files.file, 'file')))) {
    const body = need(t.files.file, 'file');
    // The converted file is scratch beside the spooled body (the API deletes neither: it is removed here).
    const converted = path.join(path.dirname(body), `dataset-${randomBytes(9).toString('hex')}`);
    try {
      let loaded: LoadedDataset;
      try {
        loaded =
          t.format === 'csv' ? convertCsvFile(body, converted, t.label === undefined ? options : { ...options, label: t.label }) : convertNdjsonFile(body, converted, options);
      } catch (err) {
        // The scratch files are on DATA_DIR: a full volume is named as such.
        throw asStorageFull(err, t.outKey, statSync(body).size);
      }
      // The storage writes atomically (multipart on S3): a reader never sees half a dataset.
      await threadStorage().putFile(t.outKey, converted);
      return resultOf(loaded, statSync(converted).size);
    } finally {
      rmSync(converted, { force: true });
    }
  }
  const loaded = parse(t, options);
  if (loaded.dataset.n === 0) throw new DataError('rows', 'the dataset has no rows');
  const bytes = encodeDataset(loaded);
  await threadStorage().put(t.outKey, bytes);
  return resultOf(loaded, bytes.byteLength);
}
