// IDX datasets (the MNIST / Fashion-MNIST format): an images file [N, rows, cols, …] and a labels
// file [N] of class indices, each gzipped or not. Unsigned-byte pixels stay bytes that stand for
// value / 255 (the core converts rows as it gathers them); other element types are taken as they are. Every header is checked against the bytes that follow.
// Sizes are checked from the headers before anything is inflated or converted, so a gzip bomb or
// a 1 GB float32 conversion is refused after reading a few hundred bytes.

import { constants, gunzipSync, inflateRawSync } from 'node:zlib';
import { DataError } from './errors.js';
import { describeTargets } from './infer-task.js';
import { BYTES_LIMIT_NAME, checkConvertedSize, checkFeatures, checkRows } from './limits.js';
import type { LoadedDataset, ParseOptions } from './types.js';

/** Decompressed size accepted when the caller sets no limit. */
export const DEFAULT_MAX_BYTES = 1 << 30;
/** Compressed bytes inflated to read a gzipped file's header: at most ~1 MB comes out (deflate's 1032:1). */
const PEEK_COMPRESSED_BYTES = 1024;
const PEEK_MAX_OUTPUT = 2 << 20;

export interface IdxType {
  name: string;
  size: number;
  read: (view: DataView, offset: number) => number;
  integer: boolean;
}

const TYPES: Record<number, IdxType> = {
  0x08: { name: 'unsigned byte', size: 1, read: (v, o) => v.getUint8(o), integer: true },
  0x09: { name: 'signed byte', size: 1, read: (v, o) => v.getInt8(o), integer: true },
  0x0b: { name: 'short', size: 2, read: (v, o) => v.getInt16(o, false), integer: true },
  0x0c: { name: 'int', size: 4, read: (v, o) => v.getInt32(o, false), integer: true },
  0x0d: { name: 'float', size: 4, read: (v, o) => v.getFloat32(o, false), integer: false },
  0x0e: { name: 'double', size: 8, read: (v, o) => v.getFloat64(o, false), integer: false },
};

interface IdxFile {
  type: IdxType;
  typeCode: number;
  dims: number[];
  view: DataView;
  dataOffset: number;
}

export function parseIdx(images: Uint8Array, labels: Uint8Array, options: ParseOptions = {}): LoadedDataset {
  const maxBytes = options.limits?.maxBytes ?? DEFAULT_MAX_BYTES;
  // What the images header promises is checked first: rows, features, converted size.
  const declared = peekHeader(images, 'images');
  if (declared !== null) checkShape(declared.dims, options, 'images');
  const imagesRaw = maybeGunzip(images, 'images', maxBytes, declared);
  const inflated = imagesRaw === images ? 0 : imagesRaw.length;
  const labelsRaw = maybeGunzip(labels, 'labels', maxBytes - inflated, peekHeader(labels, 'labels'));
  const img = readHeader(imagesRaw, 'images');
  const lab = readHeader(labelsRaw, 'labels');
  const { n, features } = checkShape(img.dims, options, 'images');
  checkLabelsHeader(lab, n);

  let x: Float32Array | Uint8Array;
  if (img.typeCode === 0x08) {
    // Kept as bytes: the core reads each as byte / 255 when it gathers rows (a quarter of the memory).
    const start = img.view.byteOffset + img.dataOffset;
    x = new Uint8Array(img.view.buffer.slice(start, start + n * features));
  } else {
    const floats = new Float32Array(n * features);
    for (let i = 0; i < floats.length; i++) floats[i] = img.type.read(img.view, img.dataOffset + i * img.type.size);
    for (let i = 0; i < floats.length; i++) {
      if (!Number.isFinite(floats[i])) throw new DataError(`images.${Math.floor(i / features)}`, `image ${Math.floor(i / features)} holds a non-finite value`);
    }
    x = floats;
  }
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lab.type.read(lab.view, lab.dataOffset + i * lab.type.size);
    if (v < 0) throw new DataError(`labels.${i}`, `label ${i} is ${v}: class labels must be ≥ 0`);
    y[i] = v;
  }
  const { task, classes } = describeTargets(y, n, 1, options.task);
  return { dataset: { x, y, n, features, targetWidth: 1 }, meta: { rows: n, features, classes, task, targetWidth: 1 } };
}

/** What an IDX images file declares (read from its first bytes, inflating ~1 KB if gzipped); null when unreadable. */
export function idxImagesShape(bytes: Uint8Array): { n: number; features: number; dims: number[] } | null {
  const h = peekHeader(bytes, 'images');
  if (h === null || h.dims.length < 2) return null;
  return { n: h.dims[0] as number, features: h.dims.slice(1).reduce((a, b) => a * b, 1), dims: h.dims };
}

/**
 * An images file alone (for predict), gzipped or not, as float32 rows read as training reads them:
 * unsigned bytes as byte / 255, other element types as they are. Never inflated past `maxBytes`
 * nor past what its header declares; `features` is the width the rows must have.
 */
export function parseIdxImages(bytes: Uint8Array, options: { maxBytes: number; features: number }): { x: Float32Array; n: number; dims: number[] } {
  const declared = peekHeader(bytes, 'images');
  const raw = maybeGunzip(bytes, 'images', options.maxBytes, declared);
  const img = readHeader(raw, 'images');
  if (img.dims.length < 2) throw new DataError('images.header', `images must have at least 2 dimensions [N, …], the header has ${img.dims.length}`);
  const n = img.dims[0] as number;
  if (n === 0) throw new DataError('images', 'the IDX file holds no images');
  const features = img.dims.slice(1).reduce((a, b) => a * b, 1);
  if (features !== options.features) {
    throw new DataError('images.header', `images have shape [${img.dims.slice(1).join(', ')}] = ${features} values each; the model takes ${options.features} features`);
  }
  const x = new Float32Array(n * features);
  if (img.typeCode === 0x08) {
    const start = img.view.byteOffset + img.dataOffset;
    const pixels = new Uint8Array(img.view.buffer, start, n * features);
    // Float32Array stores Math.fround(b / 255): the value training gathers for that byte.
    for (let i = 0; i < x.length; i++) x[i] = pixels[i]! / 255;
  } else {
    for (let i = 0; i < x.length; i++) x[i] = img.type.read(img.view, img.dataOffset + i * img.type.size);
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) throw new DataError(`images.${Math.floor(i / features)}`, `image ${Math.floor(i / features)} holds a non-finite value`);
    }
  }
  return { x, n, dims: img.dims };
}

/** Rows and features from the images dims, checked against the limits (converted size included). */
export function checkShape(dims: number[], options: ParseOptions, which: string): { n: number; features: number } {
  if (dims.length < 2) {
    throw new DataError(`${which}.header`, `images must have at least 2 dimensions [N, …], the header has ${dims.length}`);
  }
  const n = dims[0] as number;
  if (n === 0) throw new DataError(which, 'the IDX files hold no items');
  checkRows(n, options.limits, which);
  const features = dims.slice(1).reduce((a, b) => a * b, 1);
  if (features === 0) throw new DataError(`${which}.header`, `images have shape [${dims.join(', ')}]: no features per item`);
  checkFeatures(features, options.limits, which);
  checkConvertedSize(n * features + n, options.limits, which, false);
  return { n, features };
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * A file's header and the data size it declares, read from its first bytes (inflating about 1 KB
 * of a gzipped file); null when those bytes do not hold a readable header (readHeader reports it).
 */
function peekHeader(bytes: Uint8Array, which: string): { dims: number[]; declaredBytes: number } | null {
  const head = isGzip(bytes) ? gunzipPrefix(bytes) : bytes;
  if (head === null) return null;
  try {
    const h = parseHeader(head, which);
    return { dims: h.dims, declaredBytes: h.dataOffset + Number(h.dataBytes) };
  } catch {
    return null;
  }
}

/** The first decompressed bytes of a gzip member: its header skipped, ~1 KB of deflate data inflated. */
function gunzipPrefix(bytes: Uint8Array): Uint8Array | null {
  // RFC 1952: 10 fixed bytes, then optional extra field, file name, comment and header CRC.
  const flags = bytes[3] ?? 0;
  let pos = 10;
  if (flags & 0x04) pos += 2 + ((bytes[pos] ?? 0) | ((bytes[pos + 1] ?? 0) << 8));
  for (const flag of [0x08, 0x10]) {
    if (!(flags & flag)) continue;
    while (pos < bytes.length && bytes[pos] !== 0) pos++;
    pos++;
  }
  if (flags & 0x02) pos += 2;
  if (pos >= bytes.length) return null;
  try {
    return inflateRawSync(bytes.subarray(pos, pos + PEEK_COMPRESSED_BYTES), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: PEEK_MAX_OUTPUT });
  } catch {
    return null;
  }
}

/**
 * The file's bytes, inflated when gzipped: never more than `budget` bytes (what is left of
 * MAX_UNCOMPRESSED_BYTES for this upload) nor more than its header declares.
 */
function maybeGunzip(bytes: Uint8Array, which: string, budget: number, peeked: { declaredBytes: number } | null): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  const tooLarge = (size: string) => decompressesTooLarge(which, size, budget);
  if (peeked !== null && peeked.declaredBytes > budget) throw tooLarge(String(peeked.declaredBytes));
  const maxOutputLength = peeked === null ? Math.max(budget, 1) : Math.max(peeked.declaredBytes, 1);
  try {
    return gunzipSync(bytes, { maxOutputLength });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      if (peeked === null) throw tooLarge('more than');
      throw decompressesPastHeader(which, peeked.declaredBytes);
    }
    throw new DataError(which, `${which} looks gzipped but does not decompress: ${(err as Error).message}`);
  }
}

/** A gzipped file that inflates past what is left of MAX_UNCOMPRESSED_BYTES (`budget`). */
export function decompressesTooLarge(which: string, size: string, budget: number): DataError {
  return new DataError(which, `${which} decompresses to ${size} bytes, more than ${BYTES_LIMIT_NAME} = ${budget} bytes${which === 'labels' ? ' (what the images left of it)' : ''}`, 'dataset_too_large');
}

/** A gzipped file that inflates past what its header declares. */
export function decompressesPastHeader(which: string, declaredBytes: number): DataError {
  return new DataError(`${which}.header`, `${which} decompresses to more than the ${declaredBytes} bytes its header declares`);
}

/** A file whose data is not the size its header declares. */
export function sizeMismatch(which: string, h: ParsedHeader, actual: bigint): DataError {
  return new DataError(`${which}.header`, `${which} header says ${h.dims.join('×')} ${h.type.name}s = ${h.dataBytes} bytes of data, but the file has ${actual}`);
}

/** The labels header checked against the images' count. */
export function checkLabelsHeader(h: Pick<ParsedHeader, 'dims' | 'type'>, n: number): void {
  if (h.dims.length !== 1) throw new DataError('labels.header', `labels must have 1 dimension [N], the header has ${h.dims.length}`);
  if (!h.type.integer) throw new DataError('labels.header', `labels must be integers, the header says ${h.type.name}`);
  if (h.dims[0] !== n) throw new DataError('labels', `images has ${n} items but labels has ${h.dims[0]}: they must match`);
}

export interface ParsedHeader {
  type: IdxType;
  typeCode: number;
  dims: number[];
  dataOffset: number;
  /** Bytes of data the dims declare (may exceed 2^53: compared in BigInt). */
  dataBytes: bigint;
}

export function parseHeader(bytes: Uint8Array, which: string): ParsedHeader {
  const path = `${which}.header`;
  if (bytes.length < 4) throw new DataError(path, `${which} is ${bytes.length} bytes: too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(path, `${which} is not an IDX file: it must start with two zero bytes`);
  }
  const typeCode = bytes[2] as number;
  const type = TYPES[typeCode];
  if (type === undefined) throw new DataError(path, `${which} has unknown IDX element type 0x${typeCode.toString(16)}`);
  const ndims = bytes[3] as number;
  if (ndims === 0) throw new DataError(path, `${which} declares 0 dimensions`);
  const dataOffset = 4 + 4 * ndims;
  if (bytes.length < dataOffset) {
    throw new DataError(path, `${which} is ${bytes.length} bytes, shorter than its own ${ndims}-dimension header`);
  }
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  // A product of up to 255 uint32s can exceed 2^53; compare in BigInt before trusting it.
  const dataBytes = dims.reduce((a, b) => a * BigInt(b), BigInt(type.size));
  return { type, typeCode, dims, dataOffset, dataBytes };
}

function readHeader(bytes: Uint8Array, which: string): IdxFile {
  const header = parseHeader(bytes, which);
  const { type, typeCode, dims, dataOffset, dataBytes } = header;
  const actual = BigInt(bytes.length - dataOffset);
  if (dataBytes !== actual) throw sizeMismatch(which, header, actual);
  return { type, typeCode, dims, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), dataOffset };
}
