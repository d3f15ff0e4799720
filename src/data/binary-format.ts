// The dataset file the store keeps (DATA_DIR/datasets/<id>.bin): "TRDS", a uint32 format version,
// a uint32 header length, a JSON header (metadata, space-padded to 8 bytes), then the rows as raw
// little-endian arrays. Parsing happens once at upload; workers read this back without re-parsing.
// Version 2 (written now): y as float32, then x as float32 or as bytes standing for byte / 255
// (IDX pixels: a quarter of the size), each read in place from the file's buffer. Version 1 (x then
// y, both float32) is still read, so datasets stored before keep working.

import { DataError } from './errors.js';
import type { DatasetMeta, LoadedDataset } from './types.js';

const MAGIC = 'TRDS';
const VERSION = 2;
const PREFIX = 12;
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
  if (ds.x.length !== ds.n * ds.features || ds.y.length !== ds.n * ds.targetWidth) {
    throw new Error(`dataset arrays do not match n=${ds.n}, features=${ds.features}, targetWidth=${ds.targetWidth}`);
  }
  const xType: FeatureType = ds.x instanceof Uint8Array ? 'uint8' : 'float32';
  const head = encodeDatasetHead(loaded, xType);
  const out = Buffer.alloc(head.length + ds.x.byteLength);
  head.copy(out, 0);
  if (ds.x instanceof Uint8Array) out.set(ds.x, head.length);
  else writeFloats(out, head.length, ds.x);
  return out;
}

/**
 * Everything of a dataset file before its features: prefix, header and targets (`loaded.dataset.x`
 * is not read). A file is this followed by the n × features values of `xType`, so a large dataset's
 * features can be streamed after it from elsewhere.
 */
export function encodeDatasetHead(loaded: LoadedDataset, xType: FeatureType = 'float32'): Buffer {
  const { dataset: ds, meta } = loaded;
  if (ds.y.length !== ds.n * ds.targetWidth) throw new Error(`dataset targets do not match n=${ds.n}, targetWidth=${ds.targetWidth}`);
  const header: Header = { ...meta, rows: ds.n, features: ds.features, targetWidth: ds.targetWidth, xType };
  if (loaded.featureNames) header.featureNames = loaded.featureNames;
  if (loaded.classNames) header.classNames = loaded.classNames;
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((PREFIX + json.length) % 8)) % 8;
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(PREFIX + json.length + 4 * ds.y.length);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, PREFIX);
  writeFloats(out, PREFIX + json.length, ds.y);
  return out;
}

/** Decodes a dataset file. The arrays are views of `bytes` where its alignment allows (the caller hands the buffer over). */
export function decodeDataset(bytes: Uint8Array): LoadedDataset {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX || buf.toString('latin1', 0, 4) !== MAGIC) {
    throw new DataError('file', 'not a traind dataset file (bad magic)');
  }
  const version = buf.readUInt32LE(4);
  if (version !== 1 && version !== 2) throw new DataError('file', `unsupported dataset file version ${version}`);
  const headerLen = buf.readUInt32LE(8);
  if (PREFIX + headerLen > buf.length) throw new DataError('file', 'dataset file header runs past the end of the file');
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', PREFIX, PREFIX + headerLen)) as Header;
  } catch {
    throw new DataError('file', 'dataset file header is not valid JSON');
  }
  const { rows, features, targetWidth } = header;
  for (const [k, v] of Object.entries({ rows, features, targetWidth })) {
    if (!Number.isSafeInteger(v) || v < 0) throw new DataError('file', `dataset file header has a bad ${k}: ${String(v)}`);
  }
  const xType: FeatureType = version === 1 ? 'float32' : (header.xType ?? 'float32');
  if (xType !== 'float32' && xType !== 'uint8') throw new DataError('file', `dataset file header has a bad xType: ${String(xType)}`);
  const start = PREFIX + headerLen;
  const xBytes = rows * features * (xType === 'uint8' ? 1 : 4);
  const yBytes = 4 * rows * targetWidth;
  const expected = start + xBytes + yBytes;
  if (buf.length !== expected) {
    throw new DataError('file', `dataset file should be ${expected} bytes for ${rows}×(${features}+${targetWidth}) (${xType} features), it is ${buf.length}`);
  }
  const xAt = version === 1 ? start : start + yBytes;
  const yAt = version === 1 ? start + xBytes : start;
  const x = xType === 'uint8' ? new Uint8Array(buf.buffer, buf.byteOffset + xAt, xBytes) : readFloats(buf, xAt, rows * features);
  const y = readFloats(buf, yAt, rows * targetWidth);
  const meta: DatasetMeta = { rows, features, classes: header.classes ?? null, task: header.task, targetWidth };
  const loaded: LoadedDataset = { dataset: { x, y, n: rows, features, targetWidth }, meta };
  if (header.featureNames) loaded.featureNames = header.featureNames;
  if (header.classNames) loaded.classNames = header.classNames;
  return loaded;
}

function writeFloats(out: Buffer, offset: number, values: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    return;
  }
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i] as number, offset + 4 * i);
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
