import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseIdx, readIdxStreams, type DatasetSink, type LoadedDataset, type ParseOptions } from '../../src/data/index.js';
import { BYTE_VALUES } from '../../src/core/data.js';
import { DataError } from '../../src/data/index.js';
import { GrowableFloat32 } from '../../src/data/growable.js';
import { idxFile } from '../helpers/idx.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fashionDir = path.resolve(repoRoot, '../shared/data/fashion-mnist');

/** Features as the streamed reader hands them over, kept in memory. */
class MemorySink implements DatasetSink {
  values: number[] = [];
  bytes: Buffer[] = [];
  length = 0;
  targets = new GrowableFloat32();
  push(value: number): void {
    this.values.push(value);
    this.length++;
  }
  pushBytes(bytes: Uint8Array): void {
    this.bytes.push(Buffer.from(bytes));
    this.length += bytes.length;
  }
  async drained(): Promise<void> {}
}

/** A file in pieces, as an upload arrives: small ones cut every 7 bytes (headers cut too). */
async function* pieces(file: Uint8Array): AsyncIterable<Uint8Array> {
  const size = file.length < 10_000 ? 7 : 65536;
  for (let at = 0; at < file.length; at += size) yield file.subarray(at, at + size);
}

async function streamed(images: Uint8Array, labels: Uint8Array, options: ParseOptions = {}): Promise<LoadedDataset> {
  const sink = new MemorySink();
  const loaded = await readIdxStreams(pieces(images), pieces(labels), options, sink);
  loaded.dataset.x = loaded.dataset.x instanceof Uint8Array ? new Uint8Array(Buffer.concat(sink.bytes)) : Float32Array.from(sink.values);
  loaded.dataset.y = sink.targets.toArray();
  return loaded;
}

/** parseIdx reads whole buffers (bench, predict's shapes); uploads read streams: both say the same. */
const parsers: [string, (images: Uint8Array, labels: Uint8Array, options?: ParseOptions) => Promise<LoadedDataset>][] = [
  ['parseIdx', async (images, labels, options) => parseIdx(images, labels, options)],
  ['readIdxStreams', streamed],
];

async function dataErrorOf(fn: () => Promise<unknown>): Promise<DataError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DataError) return err;
    throw err;
  }
  throw new Error('expected a DataError');
}

/** A Fashion-MNIST-shaped pair: n images of 4×4 unsigned bytes, labels 0..9. */
function smallFashion(n: number): { images: Buffer; labels: Buffer } {
  const pixels = Uint8Array.from({ length: n * 16 }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images: idxFile(0x08, [n, 4, 4], pixels), labels: idxFile(0x08, [n], labels) };
}

describe.each(parsers)('%s', (_name, parse) => {
  it('keeps pixel bytes as bytes (read as value / 255) and turns labels into classes', async () => {
    const { images, labels } = smallFashion(12);
    const { dataset, meta } = await parse(images, labels);
    expect(meta).toEqual({ rows: 12, features: 16, classes: 10, task: 'classification', targetWidth: 1 });
    expect(dataset.x).toBeInstanceOf(Uint8Array);
    expect(dataset.x[1]).toBe(37);
    expect(dataset.x[16 * 11 + 15]).toBe((16 * 11 + 15) * 37 % 256);
    expect(BYTE_VALUES[37]).toBe(Math.fround(37 / 255));
    expect(Array.from(dataset.y.slice(0, 11))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
  });

  it('reads gzipped files to the same dataset', async () => {
    const { images, labels } = smallFashion(10);
    expect(await parse(gzipSync(images), gzipSync(labels))).toEqual(await parse(images, labels));
  });

  it('refuses a header that claims more data than the file holds', async () => {
    const { images, labels } = smallFashion(10);
    const lying = Buffer.from(images);
    lying.writeUInt32BE(11, 4);
    const err = await dataErrorOf(() => parse(lying, labels));
    expect(err.path).toBe('images.header');
    expect(err.message).toContain('11×4×4');
    expect(err.message).toContain('176 bytes');
    expect(err.message).toContain('160');
  });

  it('refuses trailing bytes after the data', async () => {
    const { images, labels } = smallFashion(10);
    expect((await dataErrorOf(() => parse(images, Buffer.concat([labels, Buffer.from([1])])))).path).toBe('labels.header');
  });

  it('refuses mismatched counts, a bad magic, and a truncated header', async () => {
    const { images } = smallFashion(10);
    const { labels } = smallFashion(9);
    expect((await dataErrorOf(() => parse(images, labels))).message).toContain('10 items but labels has 9');
    const badMagic = Buffer.from(images);
    badMagic[0] = 7;
    expect((await dataErrorOf(() => parse(badMagic, labels))).path).toBe('images.header');
    expect((await dataErrorOf(() => parse(images.subarray(0, 6), labels))).message).toContain('shorter than its own');
    expect((await dataErrorOf(() => parse(Buffer.from([0, 0, 0x42, 1]), labels))).message).toContain('unknown IDX element type');
  });

  it('refuses images with one dimension and float labels', async () => {
    const { labels } = smallFashion(4);
    expect((await dataErrorOf(() => parse(idxFile(0x08, [4], new Uint8Array(4)), labels))).path).toBe('images.header');
    const floatLabels = idxFile(0x0d, [4], new Uint8Array(16));
    expect((await dataErrorOf(() => parse(smallFashion(4).images, floatLabels))).message).toContain('integers');
  });

  it('refuses corrupt gzip and a decompression bomb past the byte limit', async () => {
    const { images, labels } = smallFashion(10);
    const gz = gzipSync(images);
    const broken = Buffer.concat([gz.subarray(0, 12), Buffer.alloc(20, 0xff)]);
    expect((await dataErrorOf(() => parse(broken, labels))).message).toContain('does not decompress');
    const bomb = gzipSync(idxFile(0x08, [1000, 100, 100], new Uint8Array(1000 * 100 * 100)));
    const err = await dataErrorOf(() => parse(bomb, labels, { limits: { maxBytes: 1 << 20 } }));
    expect(err.code).toBe('dataset_too_large');
  });

  it('refuses a 260 KB gzip bomb from its header without inflating it, naming MAX_UNCOMPRESSED_BYTES', async () => {
    // 1 MiB gzip members concatenated: one gzip file of 270 MiB whose header declares its true size.
    const mib = 1 << 20;
    const first = gzipSync(idxFile(0x08, [270 * 64, 128, 128], new Uint8Array(mib - 16)));
    const rest = gzipSync(new Uint8Array(mib));
    const bomb = Buffer.concat([first, ...Array.from({ length: 269 }, () => rest)]);
    expect(bomb.length).toBeLessThan(300_000);
    const { labels } = smallFashion(10);
    const started = performance.now();
    const err = await dataErrorOf(() => parse(bomb, labels, { limits: { maxBytes: 256 * mib } }));
    const ms = performance.now() - started;
    expect(err.code).toBe('dataset_too_large');
    expect(err.message).toContain('MAX_UNCOMPRESSED_BYTES');
    // Inflating 256 MiB takes seconds under load; reading the header takes microseconds.
    expect(ms).toBeLessThan(100);
    // Doubles convert to half their size: here the decompressed size is what is over the limit.
    const doubles = Buffer.concat([gzipSync(idxFile(0x0e, [270 * 16, 128, 64], new Uint8Array(mib - 16))), ...Array.from({ length: 269 }, () => rest)]);
    const big = await dataErrorOf(() => parse(doubles, labels, { limits: { maxBytes: 256 * mib } }));
    expect(big.message).toBe(`images decompresses to ${16 + 270 * mib} bytes, more than MAX_UNCOMPRESSED_BYTES = ${256 * mib} bytes`);
  });

  it('inflates no further than the header declares when a gzipped file lies about its size', async () => {
    const { labels } = smallFashion(10);
    const liar = Buffer.concat([gzipSync(idxFile(0x08, [10, 4, 4], new Uint8Array(160))), gzipSync(new Uint8Array(16 << 20))]);
    const err = await dataErrorOf(() => parse(liar, labels, { limits: { maxBytes: 256 << 20 } }));
    expect(err.code).toBe('invalid_dataset');
    expect(err.path).toBe('images.header');
    expect(err.message).toContain('more than the 176 bytes its header declares');
  });

  it('counts both files of an upload against the decompressed limit', async () => {
    const images = gzipSync(idxFile(0x0e, [1000, 10, 10], new Uint8Array(800_000)));
    const labels = gzipSync(idxFile(0x0c, [1000], new Uint8Array(4000)));
    expect((await parse(images, labels, { limits: { maxBytes: 800_016 + 4008 } })).meta.rows).toBe(1000);
    const err = await dataErrorOf(() => parse(images, labels, { limits: { maxBytes: 800_016 + 4007 } }));
    expect(err.path).toBe('labels');
    expect(err.message).toContain('MAX_UNCOMPRESSED_BYTES');
  });

  it('bounds the converted float32 size too: 300 KB of pixels is 1.2 MB of float32', async () => {
    const images = idxFile(0x08, [300, 32, 32], new Uint8Array(300 * 1024));
    const labels = idxFile(0x08, [300], new Uint8Array(300));
    const err = await dataErrorOf(() => parse(images, labels, { limits: { maxBytes: 1 << 20 } }));
    expect(err.code).toBe('dataset_too_large');
    expect(err.message).toContain('MAX_UNCOMPRESSED_BYTES');
    expect(err.message).toContain(String(4 * (300 * 1024 + 300)));
    expect((await parse(images, labels, { limits: { maxBytes: 4 * (300 * 1024 + 300) } })).meta.rows).toBe(300);
  });

  it('checks row and feature limits from the header before reading the data', async () => {
    const { images, labels } = smallFashion(10);
    expect((await dataErrorOf(() => parse(images, labels, { limits: { maxRows: 5 } }))).code).toBe('dataset_too_large');
    expect((await dataErrorOf(() => parse(images, labels, { limits: { maxFeatures: 8 } }))).code).toBe('dataset_too_large');
  });

  it.skipIf(!existsSync(fashionDir))('reads the real Fashion-MNIST test set', async () => {
    const images = readFileSync(path.join(fashionDir, 't10k-images-idx3-ubyte.gz'));
    const labels = readFileSync(path.join(fashionDir, 't10k-labels-idx1-ubyte.gz'));
    const { dataset, meta } = await parse(images, labels);
    expect(meta).toEqual({ rows: 10000, features: 784, classes: 10, task: 'classification', targetWidth: 1 });
    expect(dataset.x).toBeInstanceOf(Uint8Array);
    let max = 0;
    for (const v of dataset.x) if (v > max) max = v;
    expect(max).toBe(255);
  });
});
