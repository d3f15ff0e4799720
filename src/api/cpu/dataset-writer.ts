// A dataset object written to the storage while its upload is parsed: the file starts with the
// rows' features (format version 3, src/data/binary-format.ts), so they go out as they come, and
// the targets, header and trailer follow once the parser is done. Memory: a small float buffer and
// the storage's own (a few multipart parts on S3), never the dataset.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { datasetFileStart, encodeDatasetEnd, floatBytes, type DatasetSink, type FeatureType, type LoadedDataset } from '../../data/index.js';
import type { Storage } from '../../storage/storage.js';

/** Feature values buffered before they are handed to the stream. */
const SINK_VALUES = 64 * 1024;

export class DatasetObjectWriter implements DatasetSink {
  private readonly out = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly stored: Promise<void>;
  private readonly floats = new Float32Array(SINK_VALUES);
  private used = 0;
  private written = 0;
  /** uint8 once the parser hands over bytes (IDX pixels), float32 otherwise. */
  xType: FeatureType = 'float32';
  /** Feature values received. */
  length = 0;

  constructor(storage: Storage, key: string) {
    // Failures show through `stored`, whenever the storage attaches to the stream.
    this.out.on('error', () => undefined);
    this.stored = storage.putStream(key, this.out);
    // Observed by drained, finish and abort; never an unhandled rejection meanwhile.
    this.stored.catch(() => undefined);
    this.write(datasetFileStart());
  }

  private write(bytes: Buffer): void {
    this.written += bytes.length;
    this.out.write(bytes);
  }

  push(value: number): void {
    this.floats[this.used++] = value;
    this.length++;
    if (this.used === SINK_VALUES) this.flush();
  }

  pushBytes(bytes: Uint8Array): void {
    this.xType = 'uint8';
    this.length += bytes.length;
    this.write(Buffer.from(bytes));
  }

  private flush(): void {
    if (this.used === 0) return;
    this.write(Buffer.from(floatBytes(this.floats.subarray(0, this.used))));
    this.used = 0;
  }

  /** Resolves once the store has taken what was written (backpressure); rejects when the write failed. */
  async drained(): Promise<void> {
    if (!this.out.writableNeedDrain) return;
    await Promise.race([once(this.out, 'drain'), this.stored.then(() => undefined)]);
  }

  /** Writes the rest of the file (targets, header) and waits until the object is stored; returns its size. */
  async finish(loaded: LoadedDataset): Promise<number> {
    this.flush();
    this.write(encodeDatasetEnd(loaded, this.xType));
    this.out.end();
    await this.stored;
    return this.written;
  }

  /** Gives the object up: nothing is stored under its key (the storage aborts the write). */
  async abort(reason: Error): Promise<void> {
    this.out.destroy(reason);
    await this.stored.catch(() => undefined);
  }
}
