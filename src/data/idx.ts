// IDX datasets (the MNIST / Fashion-MNIST format): an images file [N, rows, cols, …] and a labels
// file [N] of class indices, each gzipped or not. Unsigned-byte pixels become value / 255; other
// element types are taken as they are. Every header is checked against the bytes that follow.

import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.js';
import { describeTargets } from './infer-task.js';
import { checkFeatures, checkRows } from './limits.js';
import type { LoadedDataset, ParseOptions } from './types.js';

/** Decompressed size accepted when the caller sets no limit. */
const DEFAULT_MAX_BYTES = 1 << 30;

interface IdxType {
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
  const img = readHeader(maybeGunzip(images, 'images', options), 'images');
  const lab = readHeader(maybeGunzip(labels, 'labels', options), 'labels');
  if (img.dims.length < 2) {
    throw new DataError('images.header', `images must have at least 2 dimensions [N, …], the header has ${img.dims.length}`);
  }
  if (lab.dims.length !== 1) {
    throw new DataError('labels.header', `labels must have 1 dimension [N], the header has ${lab.dims.length}`);
  }
  if (!lab.type.integer) throw new DataError('labels.header', `labels must be integers, the header says ${lab.type.name}`);
  const n = img.dims[0] as number;
  if (lab.dims[0] !== n) {
    throw new DataError('labels', `images has ${n} items but labels has ${lab.dims[0]}: they must match`);
  }
  if (n === 0) throw new DataError('images', 'the IDX files hold no items');
  checkRows(n, options.limits, 'images');
  const features = img.dims.slice(1).reduce((a, b) => a * b, 1);
  checkFeatures(features, options.limits, 'images');

  const x = new Float32Array(n * features);
  if (img.typeCode === 0x08) {
    const bytes = new Uint8Array(img.view.buffer, img.view.byteOffset + img.dataOffset, n * features);
    for (let i = 0; i < x.length; i++) x[i] = (bytes[i] as number) / 255;
  } else {
    for (let i = 0; i < x.length; i++) x[i] = img.type.read(img.view, img.dataOffset + i * img.type.size);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new DataError(`images.${Math.floor(i / features)}`, `image ${Math.floor(i / features)} holds a non-finite value`);
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

function maybeGunzip(bytes: Uint8Array, which: string, options: ParseOptions): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const maxOutputLength = options.limits?.maxBytes ?? DEFAULT_MAX_BYTES;
  try {
    return gunzipSync(bytes, { maxOutputLength });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DataError(which, `${which} decompresses to more than ${maxOutputLength} bytes (the limit)`, 'dataset_too_large');
    }
    throw new DataError(which, `${which} looks gzipped but does not decompress: ${(err as Error).message}`);
  }
}

function readHeader(bytes: Uint8Array, which: string): IdxFile {
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
  const expected = dims.reduce((a, b) => a * BigInt(b), BigInt(type.size));
  const actual = BigInt(bytes.length - dataOffset);
  if (expected !== actual) {
    throw new DataError(
      path,
      `${which} header says ${dims.join('×')} ${type.name}s = ${expected} bytes of data, but the file has ${actual}`,
    );
  }
  return { type, typeCode, dims, view, dataOffset };
}
