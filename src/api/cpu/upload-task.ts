// Runs in a CPU thread: an uploaded body, streamed into the store by the API (uploads/<id>/…), is
// read back as a stream, parsed and written as the dataset object as it goes (cpu/rows-upload.ts
// for CSV and JSON rows, src/data/idx-stream.ts for IDX, cpu/dataset-writer.ts for the object).
// Memory does not grow with the body, and nothing is written to the local disk. Nothing large
// crosses back to the API's event loop: only metadata.
import type { Readable } from 'node:stream';
import { readIdxStreams, type LoadedDataset, type ParseOptions } from '../../data/index.js';
import type { Storage } from '../../storage/storage.js';
import { DatasetObjectWriter } from './dataset-writer.js';
import type { UploadResult, UploadTask } from './protocol.js';
import { convertCsv, convertJsonRows } from './rows-upload.js';
import { threadStorage } from './thread-storage.js';

async function body(storage: Storage, key: string | undefined, name: string): Promise<Readable> {
  if (key === undefined) throw new Error(`upload task without its "${name}" object`);
  const stream = await storage.readStream(key);
  if (stream === null) throw new Error(`the uploaded "${name}" object ${key} is missing from ${storage.description}`);
  return stream;
}

export async function runUpload(t: UploadTask): Promise<UploadResult> {
  const options: ParseOptions = { limits: t.limits };
  if (t.task !== undefined) options.task = t.task;
  const storage = threadStorage();
  const writer = new DatasetObjectWriter(storage, t.outKey, t.scratchKey);
  const opened: Readable[] = [];
  const open = async (key: string | undefined, name: string) => {
    const stream = await body(storage, key, name);
    opened.push(stream);
    return stream;
  };
  try {
    let loaded: LoadedDataset;
    if (t.format === 'idx') loaded = await readIdxStreams(await open(t.keys.images, 'images'), await open(t.keys.labels, 'labels'), options, writer);
    else if (t.format === 'csv') loaded = await convertCsv(await open(t.keys.file, 'file'), t.label === undefined ? options : { ...options, label: t.label }, writer);
    else loaded = await convertJsonRows(await open(t.keys.file, 'file'), options, writer);
    // The storage completes the object only now: a reader never sees half a dataset.
    const size = await writer.finish(loaded);
    const { meta } = loaded;
    return { rows: meta.rows, features: meta.features, classes: meta.classes, task: meta.task, targetWidth: meta.targetWidth, featureBytes: writer.xType === 'uint8' ? 1 : 4, size };
  } catch (err) {
    await writer.abort(err as Error);
    throw err;
  } finally {
    for (const stream of opened) stream.destroy();
  }
}
