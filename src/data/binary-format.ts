// The dataset file the store keeps (datasets/<id>.bin). Parsing happens once at upload; workers
// read this back without re-parsing. Version 3 (written now) puts the rows first so that an upload
// can stream them to the object store as it parses: "TRDS", uint32 version, 8 zero bytes; x (float32
// or bytes standing for byte / 255, IDX pixels at a quarter of the size), zero-padded to 4 bytes;
// y as float32; the JSON header (metadata); a trailer of uint32 header length and "TRDS". Versions
// 1 ("TRDS", version, header length, header, x then y, float32) and 2 (the same with y before x and
// byte features) are still read, so datasets stored before keep working. All little-endian; each
// array is read in place from the file's buffer.

import { DataError } from './errors.js';
import type { DatasetMeta, LoadedDataset } from './types.js';

const MAGIC = 'TRDS';
const VERSION = 3;
/** Versions 1 and 2: magic, version, header length. */
const PREFIX = 12;
/** Version 3: magic, version, 8 zero bytes; x starts here. */
const PREFIX_V3 = 16;
const TRAILER = 8;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export type FeatureType = 'float32' | 'uint8';

interface Header extends DatasetMeta {
  featureNames?: string[];
  /** Class k's name, when the source has names (checkpoints carry them as class_names). */
  classNames?: string[];
  /** Version 2: how x is stored. */
  xType?: FeatureType;
}

export function encodeDataset(loaded: LoadedDataset): Buffer {
  const { dataset: ds } = loaded;
  if (ds.x.length !== ds.n * ds.features) throw new Error(`dataset features do not match n=${ds.n}, features=${ds.features}`);
  const xType: FeatureType = ds.x instanceof Uint8Array ? 'uint8' : 'float32';
  const x = ds.x instanceof Uint8Array ? Buffer.from(ds.x.buffer, ds.x.byteOffset, ds.x.byteLength) : floatBytes(ds.x);
  return Buffer.concat([datasetFileStart(), x, encodeDatasetEnd(loaded, xType)]);
}

/** What a dataset file starts with; the n × features values of x follow, as they are parsed. */
export function datasetFileStart(): Buffer {
  const out = Buffer.alloc(PREFIX_V3);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(VERSION, 4);
  return out;
}

/**
 * Everything of a dataset file after its features: padding, targets, header and trailer
 * (`loaded.dataset.x` is not read: the features went before, `xType` says as what).
 */
export function encodeDatasetEnd(loaded: LoadedDataset, xType: FeatureType): Buffer {
  const { dataset: ds } = loaded;
  if (ds.y.length !== ds.n * ds.targetWidth) throw new Error(`dataset targets do not match n=${ds.n}, targetWidth=${ds.targetWidth}`);
  return Buffer.concat([datasetPadding(loaded, xType), floatBytes(ds.y), encodeDatasetTrailer(loaded, xType)]);
}

/** The zero bytes between the features and the targets. */
export function datasetPadding(loaded: LoadedDataset, xType: FeatureType): Buffer {
  const { dataset: ds } = loaded;
  return Buffer.alloc(padTo4(ds.n * ds.features * (xType === 'uint8' ? 1 : 4)));
}

/** The JSON header and the trailer, after the targets (`loaded.dataset.x` and `y` are not read). */
export function encodeDatasetTrailer(loaded: LoadedDataset, xType: FeatureType): Buffer {
  const { dataset: ds, meta } = loaded;
  const header: Header = { ...meta, rows: ds.n, features: ds.features, targetWidth: ds.targetWidth, xType };
  if (loaded.featureNames) header.featureNames = loaded.featureNames;
  if (loaded.classNames) header.classNames = loaded.classNames;
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const trailer = Buffer.alloc(TRAILER);
  trailer.writeUInt32LE(json.length, 0);
  trailer.write(MAGIC, 4, 'latin1');
  return Buffer.concat([json, trailer]);
}

function padTo4(bytes: number): number {
  return (4 - (bytes % 4)) % 4;
}

/** Decodes a dataset file. The arrays are views of `bytes` where its alignment allows (the caller hands the buffer over). */
export function decodeDataset(bytes: Uint8Array): LoadedDataset {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX || buf.toString('latin1', 0, 4) !== MAGIC) {
    throw new DataError('file', 'not a traind dataset file (bad magic)');
  }
  const version = buf.readUInt32LE(4);
  if (version !== 1 && version !== 2 && version !== 3) throw new DataError('file', `unsupported dataset file version ${version}`);
  const header = readHeader(buf, version);
  const { rows, features, targetWidth } = header.fields;
  for (const [k, v] of Object.entries({ rows, features, targetWidth })) {
    if (!Number.isSafeInteger(v) || v < 0) throw new DataError('file', `dataset file header has a bad ${k}: ${String(v)}`);
  }
  const xType: FeatureType = version === 1 ? 'float32' : (header.fields.xType ?? 'float32');
  if (xType !== 'float32' && xType !== 'uint8') throw new DataError('file', `dataset file header has a bad xType: ${String(xType)}`);
  const xBytes = rows * features * (xType === 'uint8' ? 1 : 4);
  const yBytes = 4 * rows * targetWidth;
  const { xAt, yAt, expected } = layout(version, header.length, xBytes, yBytes);
  if (buf.length !== expected) {
    throw new DataError('file', `dataset file should be ${expected} bytes for ${rows}×(${features}+${targetWidth}) (${xType} features), it is ${buf.length}`);
  }
  const x = xType === 'uint8' ? new Uint8Array(buf.buffer, buf.byteOffset + xAt, xBytes) : readFloats(buf, xAt, rows * features);
  const y = readFloats(buf, yAt, rows * targetWidth);
  const { classes, task, featureNames, classNames } = header.fields;
  const meta: DatasetMeta = { rows, features, classes: classes ?? null, task, targetWidth };
  const loaded: LoadedDataset = { dataset: { x, y, n: rows, features, targetWidth }, meta };
  if (featureNames) loaded.featureNames = featureNames;
  if (classNames) loaded.classNames = classNames;
  return loaded;
}

/** The JSON header (after the prefix in versions 1 and 2, before the trailer in 3) and its length in bytes. */
function readHeader(buf: Buffer, version: number): { fields: Header; length: number } {
  let at: number;
  let length: number;
  if (version === 3) {
    if (buf.length < PREFIX_V3 + TRAILER || buf.toString('latin1', buf.length - 4) !== MAGIC) throw new DataError('file', 'dataset file has no trailer: it is truncated');
    length = buf.readUInt32LE(buf.length - TRAILER);
    at = buf.length - TRAILER - length;
    if (at < PREFIX_V3) throw new DataError('file', 'dataset file header runs past the start of the file');
  } else {
    length = buf.readUInt32LE(8);
    at = PREFIX;
    if (PREFIX + length > buf.length) throw new DataError('file', 'dataset file header runs past the end of the file');
  }
  try {
    return { fields: JSON.parse(buf.toString('utf8', at, at + length)) as Header, length };
  } catch {
    throw new DataError('file', 'dataset file header is not valid JSON');
  }
}

/** Where x and y start and the file's whole size, by version. */
function layout(version: number, headerLength: number, xBytes: number, yBytes: number): { xAt: number; yAt: number; expected: number } {
  if (version === 3) {
    const yAt = PREFIX_V3 + xBytes + padTo4(xBytes);
    return { xAt: PREFIX_V3, yAt, expected: yAt + yBytes + headerLength + TRAILER };
  }
  const start = PREFIX + headerLength;
  const expected = start + xBytes + yBytes;
  return version === 1 ? { xAt: start, yAt: start + xBytes, expected } : { xAt: start + yBytes, yAt: start, expected };
}

/** The values as little-endian bytes: a view on a little-endian host, else a converted copy. */
export function floatBytes(values: Float32Array): Buffer {
  if (LITTLE_ENDIAN_HOST) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.alloc(values.byteLength);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i] as number, 4 * i);
  return out;
}

/** The floats at `offset`: a view of the buffer when it is aligned on a little-endian host, else an aligned copy. */
function readFloats(buf: Buffer, offset: number, count: number): Float32Array {
  if (LITTLE_ENDIAN_HOST && (buf.byteOffset + offset) % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset + offset, count);
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(buf.subarray(offset, offset + 4 * count));
    return out;
  }
  for (let i = 0; i < count; i++) out[i] = buf.readFloatLE(offset + 4 * i);
  return out;
}
