// CSV and NDJSON uploads converted with bounded memory, in a CPU thread: the spooled body is read
// in chunks cut after a newline that ends a record (outside quotes, for CSV), parsed record by
// record, its features written to a scratch file as float32 as they come; the dataset file is then
// the header and targets followed by those features, streamed to the storage. Memory: one chunk
// and the targets, never the whole body or the converted features (a 1 GB CSV must not grow the
// API by a GB).
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { CsvParser, encodeDatasetHead, NdjsonParser, RowAccumulator, type CsvOptions, type FeatureSink, type LoadedDataset, type ParseOptions } from '../../data/index.js';

/** A parser that takes text cut at record boundaries, in order. */
interface ChunkParser {
  feed(text: string): void;
  finish(): LoadedDataset;
}

/** Bytes of the body read at a time. */
const CHUNK_BYTES = 1024 * 1024;
/** Feature values buffered before a write to the scratch file. */
const SINK_VALUES = 64 * 1024;
const QUOTE = 0x22;
const LF = 0x0a;

/** Float32 values appended to a file through a small buffer (in the host's byte order: little-endian on every platform Node runs on). */
class FloatFileSink implements FeatureSink {
  private readonly buffer = new Float32Array(SINK_VALUES);
  private used = 0;
  length = 0;

  constructor(private readonly fd: number) {}

  push(value: number): void {
    this.buffer[this.used++] = value;
    this.length++;
    if (this.used === SINK_VALUES) this.flush();
  }

  flush(): void {
    if (this.used === 0) return;
    const bytes = new Uint8Array(this.buffer.buffer, 0, this.used * 4);
    let at = 0;
    while (at < bytes.length) at += writeSync(this.fd, bytes, at, bytes.length - at);
    this.used = 0;
  }
}

/**
 * The end (the index after its newline) of the last record that ends within the first `length`
 * bytes, which start at a record boundary; -1 when none ends there. Quote and newline bytes never
 * occur inside a UTF-8 multi-byte character, so counting bytes suffices.
 */
function lastRecordEnd(bytes: Buffer, length: number): number {
  let quoted = false;
  let end = -1;
  for (let i = 0; i < length; i++) {
    const b = bytes[i];
    if (b === QUOTE) quoted = !quoted;
    else if (b === LF && !quoted) end = i + 1;
  }
  return end;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** NDJSON: JSON strings hold no raw newline, so the last newline ends a record. */
function lastLineEnd(bytes: Buffer, length: number): number {
  const at = bytes.subarray(0, length).lastIndexOf(LF);
  return at < 0 ? -1 : at + 1;
}

/** Feeds the file to the parser chunk by chunk, cut where `recordEnd` says a record ends. */
function feedFile(file: string, parser: ChunkParser, chunkBytes: number, recordEnd: (bytes: Buffer, length: number) => number): void {
  const fd = openSync(file, 'r');
  try {
    let buffer = Buffer.alloc(chunkBytes);
    let kept = 0;
    for (;;) {
      if (kept === buffer.length) {
        // One record longer than the buffer (a huge quoted cell): grow until it ends.
        const bigger = Buffer.alloc(buffer.length * 2);
        buffer.copy(bigger, 0, 0, kept);
        buffer = bigger;
      }
      const read = readSync(fd, buffer, kept, buffer.length - kept, null);
      const filled = kept + read;
      const end = read === 0 ? filled : recordEnd(buffer, filled);
      if (end > 0) {
        parser.feed(buffer.toString('utf8', 0, end));
        buffer.copy(buffer, 0, end, filled);
      }
      kept = filled - Math.max(end, 0);
      if (read === 0) return;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Parses the CSV at `file` into a new dataset file at `out`; returns its metadata (a DataError
 * naming the line and column when the CSV is not a dataset). Scratch files are removed either way.
 */
export function convertCsvFile(file: string, out: string, options: CsvOptions, chunkBytes = CHUNK_BYTES): LoadedDataset {
  return convertFile(file, out, (sink) => new CsvParser(options, sink), lastRecordEnd, chunkBytes);
}

/** The same for NDJSON rows ({"features": [...], "label": ...} per line). */
export function convertNdjsonFile(file: string, out: string, options: ParseOptions, chunkBytes = CHUNK_BYTES): LoadedDataset {
  return convertFile(file, out, (sink) => new NdjsonParser(options, new RowAccumulator(options, sink)), lastLineEnd, chunkBytes);
}

function convertFile(file: string, out: string, makeParser: (sink: FeatureSink) => ChunkParser, recordEnd: (bytes: Buffer, length: number) => number, chunkBytes: number): LoadedDataset {
  const featuresFile = `${out}.x-${randomBytes(6).toString('hex')}`;
  try {
    const xfd = openSync(featuresFile, 'w');
    const sink = new FloatFileSink(xfd);
    const parser = makeParser(sink);
    try {
      feedFile(file, parser, chunkBytes, recordEnd);
      sink.flush();
    } finally {
      closeSync(xfd);
    }
    const loaded = parser.finish();
    // The dataset file: header and targets, then the features as they were written.
    const ofd = openSync(out, 'w');
    try {
      writeAll(ofd, encodeDatasetHead(loaded, 'float32'));
      const xfdIn = openSync(featuresFile, 'r');
      try {
        const chunk = Buffer.alloc(CHUNK_BYTES);
        for (let n = readSync(xfdIn, chunk, 0, chunk.length, null); n > 0; n = readSync(xfdIn, chunk, 0, chunk.length, null)) writeAll(ofd, chunk.subarray(0, n));
      } finally {
        closeSync(xfdIn);
      }
    } finally {
      closeSync(ofd);
    }
    return loaded;
  } finally {
    rmSync(featuresFile, { force: true });
  }
}
