// A dataset object written to the storage while its upload is parsed: the file starts with the
// rows' features (format version 3, src/data/binary-format.ts), so they go out as they come. The
// targets, which follow the features in the file, go meanwhile to a scratch object of their own
// (beside the upload's raw body) and are copied in after the features, then the header and the
// trailer. Memory: small buffers and the storage's own (a part or two per stream on S3), never the
// dataset, its features or its targets.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { datasetFileStart, datasetPadding, encodeDatasetTrailer, floatBytes, type DatasetSink, type FeatureType, type LoadedDataset, type TargetSink } from '../../data/index.js';
import type { Storage } from '../../storage/storage.js';

/** Float values buffered before they are handed to the stream. */
const BUFFER_VALUES = 64 * 1024;

/** Bytes and float32 values streamed into one object, with backpressure. */
class ObjectStream implements TargetSink {
  private readonly out = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly stored: Promise<void>;
  private readonly floats = new Float32Array(BUFFER_VALUES);
  private used = 0;
  /** Bytes written. */
  written = 0;
  /** Float values pushed. */
  length = 0;

  constructor(storage: Storage, key: string) {
    // Failures show through `stored`, whenever the storage attaches to the stream.
    this.out.on('error', () => undefined);
    this.stored = storage.putStream(key, this.out);
    // Observed by drained, end and abort; never an unhandled rejection meanwhile.
    this.stored.catch(() => undefined);
  }

  write(bytes: Buffer): void {
    this.flush();
    this.written += bytes.length;
    this.out.write(bytes);
  }

  push(value: number): void {
    this.floats[this.used++] = value;
    this.length++;
    if (this.used === BUFFER_VALUES) this.flush();
  }

  private flush(): void {
    if (this.used === 0) return;
    const bytes = Buffer.from(floatBytes(this.floats.subarray(0, this.used)));
    this.used = 0;
    this.written += bytes.length;
    this.out.write(bytes);
  }

  /** Resolves once the store has taken what was written (backpressure); rejects when the write failed. */
  async drained(): Promise<void> {
    if (!this.out.writableNeedDrain) return;
    await Promise.race([once(this.out, 'drain'), this.stored.then(() => undefined)]);
  }

  /** Ends the object and waits until it is stored. */
  async end(): Promise<void> {
    this.flush();
    this.out.end();
    await this.stored;
  }

  /** Gives the object up: nothing is stored under its key (the storage aborts the write). */
  async abort(reason: Error): Promise<void> {
    this.out.destroy(reason);
    await this.stored.catch(() => undefined);
  }
}

export class DatasetObjectWriter implements DatasetSink {
  private readonly features: ObjectStream;
  readonly targets: ObjectStream;
  /** uint8 once the parser hands over bytes (IDX pixels), float32 otherwise. */
  xType: FeatureType = 'float32';

  /** The dataset object goes to `key`, its targets meanwhile to `scratchKey` (removed once copied). */
  constructor(
    private readonly storage: Storage,
    key: string,
    private readonly scratchKey: string,
  ) {
    this.features = new ObjectStream(storage, key);
    this.targets = new ObjectStream(storage, scratchKey);
    this.features.write(datasetFileStart());
  }

  /** Feature values received. */
  get length(): number {
    return this.features.length;
  }

  push(value: number): void {
    this.features.push(value);
  }

  pushBytes(bytes: Uint8Array): void {
    this.xType = 'uint8';
    this.features.length += bytes.length;
    this.features.write(Buffer.from(bytes));
  }

  async drained(): Promise<void> {
    await Promise.all([this.features.drained(), this.targets.drained()]);
  }

  /** Writes the rest of the file (targets, header) and waits until the object is stored; returns its size. */
  async finish(loaded: LoadedDataset): Promise<number> {
    const { n, targetWidth } = loaded.dataset;
    if (this.targets.length !== n * targetWidth) throw new Error(`dataset targets do not match n=${n}, targetWidth=${targetWidth}: ${this.targets.length} values`);
    this.features.write(datasetPadding(loaded, this.xType));
    await this.targets.end();
    const targets = await this.storage.readStream(this.scratchKey);
    if (targets === null) throw new Error(`the targets scratch object ${this.scratchKey} is missing`);
    for await (const chunk of targets) {
      this.features.write(chunk as Buffer);
      await this.features.drained();
    }
    this.features.write(encodeDatasetTrailer(loaded, this.xType));
    await this.features.end();
    await this.storage.delete(this.scratchKey);
    return this.features.written;
  }

  /** Gives the object up: nothing is stored under its key, nor under the scratch key. */
  async abort(reason: Error): Promise<void> {
    await Promise.all([this.features.abort(reason), this.targets.abort(reason)]);
    await this.storage.delete(this.scratchKey).catch(() => undefined);
  }
}
