// The safetensors file format (float32 only): an 8-byte little-endian header length, a JSON header
// naming each tensor's dtype, shape and byte range, then the raw little-endian tensor data.
// Encoding is deterministic (names sorted, fixed key order, header space-padded to 8 bytes), so
// the same tensors and metadata always give the same bytes.

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface DecodedSafetensors {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  metadata: Record<string, string>;
}

/** A file that is not well-formed safetensors, or that holds something this decoder cannot read. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

const METADATA_KEY = '__metadata__';
/** Larger headers are refused before parsing, as the reference implementation does. */
const MAX_HEADER_BYTES = 100_000_000;
/** Dtypes of the format that we recognise but do not read: they get a clearer error than unknown ones. */
const OTHER_DTYPES = new Set(['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F64', 'I64', 'U64', 'F8_E4M3', 'F8_E5M2']);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function elementCount(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const sorted = [...tensors].sort((a, b) => byCodePoint(a.name, b.name));
  const header: Record<string, unknown> = {};
  const metaKeys = Object.keys(metadata).sort(byCodePoint);
  if (metaKeys.length > 0) {
    const meta: Record<string, string> = {};
    for (const k of metaKeys) {
      const v = metadata[k];
      if (typeof v !== 'string') throw new SafetensorsError(`metadata "${k}" must be a string, got ${typeof v}`);
      meta[k] = v;
    }
    header[METADATA_KEY] = meta;
  }
  let offset = 0;
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i]!;
    if (t.name === METADATA_KEY) throw new SafetensorsError(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (i > 0 && sorted[i - 1]!.name === t.name) throw new SafetensorsError(`tensor "${t.name}" appears twice`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`tensor "${t.name}" has an invalid shape [${t.shape.join(', ')}]`);
    }
    if (elementCount(t.shape) !== t.data.length) {
      throw new SafetensorsError(`tensor "${t.name}" has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    }
    const end = offset + t.data.length * 4;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);

  let pos = 8 + headerLength;
  for (const t of sorted) {
    writeFloat32LE(out, pos, t.data);
    pos += t.data.length * 4;
  }
  return out;
}

function writeFloat32LE(out: Uint8Array, pos: number, data: Float32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset);
  for (let i = 0; i < data.length; i++) view.setFloat32(pos + 4 * i, data[i]!, true);
}

function readFloat32LE(bytes: Uint8Array, start: number, count: number): Float32Array {
  const data = new Float32Array(count);
  if (LITTLE_ENDIAN) {
    // Copy through bytes: the tensor may not be 4-byte aligned inside the file.
    new Uint8Array(data.buffer).set(bytes.subarray(start, start + count * 4));
    return data;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(start + 4 * i, true);
  return data;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The header's JSON, checked to be an object, and its length in bytes. */
function readHeader(bytes: Uint8Array): { header: Record<string, unknown>; headerLength: number } {
  if (bytes.length < 8) {
    throw new SafetensorsError(`truncated file: ${bytes.length} bytes, the 8-byte header length is missing`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > bytes.length - 8) {
    throw new SafetensorsError(`truncated file: header length ${headerLength} exceeds the ${bytes.length - 8} bytes after it`);
  }
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) throw new SafetensorsError('header must be a JSON object');
  return { header, headerLength };
}

function metadataOf(header: Record<string, unknown>): Record<string, string> {
  const metadata: Record<string, string> = {};
  const rawMeta = header[METADATA_KEY];
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) throw new SafetensorsError(`"${METADATA_KEY}" must be an object of strings`);
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') throw new SafetensorsError(`metadata "${k}" must be a string, got ${JSON.stringify(v)}`);
      metadata[k] = v;
    }
  }
  return metadata;
}

/** A safetensors file's metadata alone: the header is parsed, no tensor is read or copied. */
export function readSafetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  return metadataOf(readHeader(bytes).header);
}

/** Parses a safetensors file; every tensor must be F32. Tensor data is copied out of `bytes`. */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  const { header, headerLength } = readHeader(bytes);
  const metadata = metadataOf(header);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    if (!isPlainObject(entry)) throw new SafetensorsError(`tensor "${name}": entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string') throw new SafetensorsError(`tensor "${name}": dtype missing`);
    if (dtype !== 'F32') {
      throw new SafetensorsError(
        OTHER_DTYPES.has(dtype)
          ? `tensor "${name}": dtype ${dtype} is not supported, only F32`
          : `tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new SafetensorsError(`tensor "${name}": shape must be an array of non-negative integers`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o): o is number => Number.isSafeInteger(o) && (o as number) >= 0)
    ) {
      throw new SafetensorsError(`tensor "${name}": data_offsets must be two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] out of range of ${dataLength} data bytes`);
    }
    if (elementCount(shape) * 4 !== end - begin) {
      throw new SafetensorsError(
        `tensor "${name}": shape [${shape.join(', ')}] needs ${elementCount(shape) * 4} bytes but data_offsets span ${end - begin}`,
      );
    }
    entries.push({ name, shape, begin, end });
  }

  // The data must be exactly the tensors laid end to end: no gaps, no overlaps, nothing after.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of byOffset) {
    if (e.begin < covered) throw new SafetensorsError(`tensor "${e.name}": data_offsets overlap another tensor`);
    if (e.begin > covered) throw new SafetensorsError(`tensor "${e.name}": gap in the data before byte ${e.begin}`);
    covered = e.end;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(`tensors cover ${covered} of ${dataLength} data bytes: the file has trailing or missing data`);
  }

  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of entries.sort((a, b) => byCodePoint(a.name, b.name))) {
    tensors.set(e.name, { shape: e.shape, data: readFloat32LE(bytes, dataStart + e.begin, (e.end - e.begin) / 4) });
  }
  return { tensors, metadata };
}
