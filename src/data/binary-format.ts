// The dataset file the store keeps (DATA_DIR/datasets/<id>.bin): "TRDS", a uint32 format version,
// a uint32 header length, a JSON header (metadata, space-padded to 8 bytes), then x and y as raw
// little-endian float32. Parsing happens once at upload; workers read this back without re-parsing.

import { DataError } from './errors.js';
import type { DatasetMeta, LoadedDataset } from './types.js';

const MAGIC = 'TRDS';
const VERSION = 1;
const PREFIX = 12;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface Header extends DatasetMeta {
  featureNames?: string[];
}

export function encodeDataset(loaded: LoadedDataset): Buffer {
  const { dataset: ds, meta } = loaded;
  if (ds.x.length !== ds.n * ds.features || ds.y.length !== ds.n * ds.targetWidth) {
    throw new Error(`dataset arrays do not match n=${ds.n}, features=${ds.features}, targetWidth=${ds.targetWidth}`);
  }
  const header: Header = { ...meta, rows: ds.n, features: ds.features, targetWidth: ds.targetWidth };
  if (loaded.featureNames) header.featureNames = loaded.featureNames;
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((PREFIX + json.length) % 8)) % 8;
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(PREFIX + json.length + 4 * (ds.x.length + ds.y.length));
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, PREFIX);
  writeFloats(out, PREFIX + json.length, ds.x);
  writeFloats(out, PREFIX + json.length + 4 * ds.x.length, ds.y);
  return out;
}

export function decodeDataset(bytes: Uint8Array): LoadedDataset {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX || buf.toString('latin1', 0, 4) !== MAGIC) {
    throw new DataError('file', 'not a traind dataset file (bad magic)');
  }
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw new DataError('file', `unsupported dataset file version ${version}`);
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
  const start = PREFIX + headerLen;
  const expected = start + 4 * rows * (features + targetWidth);
  if (buf.length !== expected) {
    throw new DataError('file', `dataset file should be ${expected} bytes for ${rows}×(${features}+${targetWidth}), it is ${buf.length}`);
  }
  const x = readFloats(buf, start, rows * features);
  const y = readFloats(buf, start + 4 * rows * features, rows * targetWidth);
  const meta: DatasetMeta = { rows, features, classes: header.classes ?? null, task: header.task, targetWidth };
  const loaded: LoadedDataset = { dataset: { x, y, n: rows, features, targetWidth }, meta };
  if (header.featureNames) loaded.featureNames = header.featureNames;
  return loaded;
}

function writeFloats(out: Buffer, offset: number, values: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    return;
  }
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i] as number, offset + 4 * i);
}

/** Copies into a fresh, aligned Float32Array (the source may sit at any byte offset). */
function readFloats(buf: Buffer, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(buf.subarray(offset, offset + 4 * count));
    return out;
  }
  for (let i = 0; i < count; i++) out[i] = buf.readFloatLE(offset + 4 * i);
  return out;
}
