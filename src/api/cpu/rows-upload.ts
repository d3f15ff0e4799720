// CSV, NDJSON and JSON-array uploads converted as streams, in a CPU thread: the raw body is read
// from the store as it arrives, cut after a newline that ends a record (outside quotes, for CSV),
// parsed record by record, and its features and targets handed to a sink (the dataset object being
// written, cpu/dataset-writer.ts) with backpressure. A JSON array needs no cutting: its parser takes bytes
// cut anywhere. Memory: about one chunk and the sink's buffers, never the body or the converted
// features and targets (a 1 GB CSV must not grow the API by a GB).
import { CsvParser, DataError, JsonArrayParser, NdjsonParser, RowAccumulator, type CsvOptions, type DatasetSink, type LoadedDataset, type ParseOptions } from '../../data/index.js';

/** A parser that takes text cut at record boundaries, in order. */
interface ChunkParser {
  feed(text: string): void;
  finish(): LoadedDataset;
}

/** Bytes of the body parsed at a time (at least). */
export const CHUNK_BYTES = 1024 * 1024;
const QUOTE = 0x22;
const LF = 0x0a;

/**
 * The end (the index after its newline) of the last record that ends within `bytes`, which start
 * at a record boundary; -1 when none ends there. Quote and newline bytes never occur inside a
 * UTF-8 multi-byte character, so counting bytes suffices.
 */
function lastRecordEnd(bytes: Buffer): number {
  let quoted = false;
  let end = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === QUOTE) quoted = !quoted;
    else if (b === LF && !quoted) end = i + 1;
  }
  return end;
}

/** NDJSON: JSON strings hold no raw newline, so the last newline ends a record. */
function lastLineEnd(bytes: Buffer): number {
  const at = bytes.lastIndexOf(LF);
  return at < 0 ? -1 : at + 1;
}

/** Feeds the body to the parser at least `chunkBytes` at a time, cut where `recordEnd` says a record ends. */
async function feedCut(body: AsyncIterable<Buffer>, parser: ChunkParser, sink: DatasetSink, recordEnd: (bytes: Buffer) => number, chunkBytes: number): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // A record longer than what is pending (a huge quoted cell): look again once twice as much arrived.
  let scanAt = chunkBytes;
  for await (const chunk of body) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < scanAt) continue;
    const bytes = Buffer.concat(pending);
    const end = recordEnd(bytes);
    if (end < 0) {
      pending = [bytes];
      scanAt = 2 * pendingBytes;
      continue;
    }
    parser.feed(bytes.toString('utf8', 0, end));
    pending = end < bytes.length ? [bytes.subarray(end)] : [];
    pendingBytes = bytes.length - end;
    scanAt = chunkBytes;
    await sink.drained();
  }
  if (pendingBytes > 0) parser.feed(Buffer.concat(pending).toString('utf8'));
}

/** The body's chunks, the first ones given back after they were looked at. */
async function* replay(first: Buffer[], rest: AsyncIterator<Buffer>): AsyncIterable<Buffer> {
  yield* first;
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
}

export async function convertCsv(body: AsyncIterable<Buffer>, options: CsvOptions, sink: DatasetSink, chunkBytes = CHUNK_BYTES): Promise<LoadedDataset> {
  const parser = new CsvParser(options, sink, sink.targets);
  await feedCut(body, parser, sink, lastRecordEnd, chunkBytes);
  return parser.finish();
}

/** JSON rows: a JSON array, or NDJSON (one row per line), told apart by the first byte that is not blank. */
export async function convertJsonRows(body: AsyncIterable<Buffer>, options: ParseOptions, sink: DatasetSink, chunkBytes = CHUNK_BYTES): Promise<LoadedDataset> {
  const chunks = body[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let first: number | undefined;
  while (first === undefined) {
    const next = await chunks.next();
    if (next.done === true) throw new DataError('rows', 'the dataset is empty');
    seen.push(next.value);
    // Blanks and a byte-order mark may come first.
    first = next.value.find((b) => !(b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf));
  }
  const acc = new RowAccumulator(options, sink, sink.targets);
  if (first === 0x5b) {
    const parser = new JsonArrayParser(acc);
    for await (const chunk of replay(seen, chunks)) {
      parser.feed(chunk);
      await sink.drained();
    }
    return parser.finish();
  }
  const parser = new NdjsonParser(options, acc);
  await feedCut(replay(seen, chunks), parser, sink, lastLineEnd, chunkBytes);
  return parser.finish();
}
