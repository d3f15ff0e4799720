// IDX uploads read as streams (an images file and a labels file, each gzipped or not, inflated by
// a zlib stream): the images header is read and checked against the limits first, then the pixels
// go to the sink as they arrive (unsigned bytes kept as bytes, other element types as float32),
// then the labels, each to the sink's targets as it comes. The same checks and messages as parseIdx (idx.ts), which takes whole
// buffers; nothing inflates past what a header declares or what is left of MAX_UNCOMPRESSED_BYTES.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { DatasetSink } from './csv.js';
import { DataError } from './errors.js';
import {
  checkLabelsHeader,
  checkShape,
  decompressesPastHeader,
  decompressesTooLarge,
  DEFAULT_MAX_BYTES,
  isGzip,
  parseHeader,
  sizeMismatch,
  type ParsedHeader,
} from './idx.js';
import { TargetStats } from './infer-task.js';
import type { LoadedDataset, ParseOptions } from './types.js';

/** The header once enough bytes arrived for it (null: not yet); a header that cannot be one throws. */
function headerOf(bytes: Buffer, which: string): ParsedHeader | null {
  if (bytes.length < 4 || bytes.length < 4 + 4 * (bytes[3] as number)) return null;
  return parseHeader(bytes, which);
}

async function* replay(first: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* first;
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
}

/** zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR, …), not the source's. */
function isZlibError(err: unknown): boolean {
  return String((err as { code?: unknown }).code ?? '').startsWith('Z_');
}

/**
 * Reads one IDX file: its header goes to `onHeader` (which may refuse it), then its data bytes,
 * never more than the header declares, to `onData`. Returns the header and how many bytes were
 * inflated (0 when not gzipped); a file whose data is not the declared size is refused at its end.
 */
async function readIdxFile(
  source: AsyncIterable<Uint8Array>,
  which: string,
  budget: number,
  onHeader: (h: ParsedHeader) => void,
  onData: (bytes: Uint8Array) => Promise<void> | void,
): Promise<{ header: ParsedHeader; inflated: number }> {
  const input = source[Symbol.asyncIterator]();
  const first: Uint8Array[] = [];
  for (let have = 0; have < 2; ) {
    const next = await input.next();
    if (next.done === true) break;
    first.push(next.value);
    have += next.value.length;
  }
  const gzipped = isGzip(Buffer.concat(first));
  const gunzip = gzipped ? createGunzip() : null;
  let bytes = replay(first, input);
  if (gunzip !== null) {
    // Its failure shows in the loop below (the gunzip stream errors too).
    pipeline(Readable.from(bytes), gunzip).catch(() => undefined);
    bytes = gunzip;
  }
  let header: ParsedHeader | null = null;
  let head = Buffer.alloc(0);
  let out = 0;
  let declared = 0;
  let data = 0;
  try {
    for await (const chunk of bytes) {
      out += chunk.length;
      let rest: Uint8Array = chunk;
      if (header === null) {
        head = Buffer.concat([head, chunk]);
        header = headerOf(head, which);
        if (header === null) continue;
        onHeader(header);
        declared = header.dataOffset + Number(header.dataBytes);
        if (gzipped && declared > budget) throw decompressesTooLarge(which, String(BigInt(header.dataOffset) + header.dataBytes), budget);
        rest = head.subarray(header.dataOffset);
      }
      if (gzipped && out > declared) throw decompressesPastHeader(which, declared);
      const wanted = Number(header.dataBytes) - data;
      if (wanted > 0) await onData(rest.subarray(0, Math.min(wanted, rest.length)));
      data += rest.length;
    }
  } catch (err) {
    if (gzipped && isZlibError(err)) throw new DataError(which, `${which} looks gzipped but does not decompress: ${(err as Error).message}`);
    throw err;
  } finally {
    gunzip?.destroy();
  }
  // Too few bytes for a header: parseHeader says what is wrong with them.
  header ??= parseHeader(head, which);
  if (BigInt(data) !== header.dataBytes) throw sizeMismatch(which, header, BigInt(data));
  return { header, inflated: gzipped ? out : 0 };
}

/**
 * An IDX upload read from two byte streams; the features go to `sink` (as bytes for unsigned-byte
 * images), the labels to its targets. Returns the dataset with empty `x` and `y`: they are the sink's.
 */
export async function readIdxStreams(images: AsyncIterable<Uint8Array>, labels: AsyncIterable<Uint8Array>, options: ParseOptions, sink: DatasetSink): Promise<LoadedDataset> {
  const maxBytes = options.limits?.maxBytes ?? DEFAULT_MAX_BYTES;
  let n = 0;
  let features = 0;
  let pixels: (bytes: Uint8Array) => Promise<void> = async () => undefined;
  const img = await readIdxFile(
    images,
    'images',
    maxBytes,
    (h) => {
      ({ n, features } = checkShape(h.dims, options, 'images'));
      pixels =
        h.typeCode === 0x08
          ? bytePixels(sink)
          : elementValues(h, sink, (v, i) => {
              if (!Number.isFinite(v)) throw new DataError(`images.${Math.floor(i / features)}`, `image ${Math.floor(i / features)} holds a non-finite value`);
              sink.push(v);
            });
    },
    (bytes) => pixels(bytes),
  );
  // Each label goes to the sink as it comes; only what the task needs is kept (TargetStats).
  const stats = new TargetStats(1);
  let labelValues: (bytes: Uint8Array) => Promise<void> = async () => undefined;
  const lab = await readIdxFile(
    labels,
    'labels',
    maxBytes - img.inflated,
    (h) => {
      // Read only when they can be the labels of these images (else refused below, unread).
      if (h.dims.length !== 1 || h.dims[0] !== n || !h.type.integer) return;
      labelValues = elementValues(h, sink, (v, i) => {
        if (v < 0) throw new DataError(`labels.${i}`, `label ${i} is ${v}: class labels must be ≥ 0`);
        sink.targets.push(v);
        stats.push(v);
      });
    },
    (bytes) => labelValues(bytes),
  );
  checkLabelsHeader(lab.header, n);
  const { task, classes } = stats.describe(n, options.task);
  const y = new Float32Array(0);
  const x = img.header.typeCode === 0x08 ? new Uint8Array(0) : new Float32Array(0);
  return { dataset: { x, y, n, features, targetWidth: 1 }, meta: { rows: n, features, classes, task, targetWidth: 1 } };
}

/** Unsigned-byte pixels, kept as bytes (read as value / 255). */
function bytePixels(sink: DatasetSink): (bytes: Uint8Array) => Promise<void> {
  return async (bytes) => {
    sink.pushBytes(bytes);
    await sink.drained();
  };
}

/** Elements of any type, big-endian, as float32 values in order (an element may be cut between chunks). */
function elementValues(h: ParsedHeader, sink: DatasetSink, onValue: (v: number, index: number) => void): (bytes: Uint8Array) => Promise<void> {
  const size = h.type.size;
  let carry: Buffer = Buffer.alloc(0);
  let index = 0;
  return async (bytes) => {
    const buf = Buffer.concat([carry, bytes]);
    const whole = buf.length - (buf.length % size);
    const view = new DataView(buf.buffer, buf.byteOffset, whole);
    for (let at = 0; at < whole; at += size) onValue(Math.fround(h.type.read(view, at)), index++);
    carry = Buffer.from(buf.subarray(whole));
    await sink.drained();
  };
}
