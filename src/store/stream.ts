// The job's Redis Stream: per-epoch metrics records and status events in one ordered log.
// Entry fields: `type` = 'metrics' | 'status', `data` = JSON. The stream id is the client's cursor.
import type { Redis } from 'ioredis';
import type { Store } from './redis.js';

export type StreamEntryType = 'metrics' | 'status';

export interface StreamEntry {
  id: string;
  type: StreamEntryType;
  data: Record<string, unknown>;
}

/** An entry of any of the service's event streams (a job's, a sweep's): its `type` and JSON `data`. */
export interface EventEntry {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export function isJobEntry(e: EventEntry): e is StreamEntry {
  return e.type === 'metrics' || e.type === 'status';
}

export const STREAM_ID_PATTERN = /^\d{1,20}-\d{1,20}$/;

const MAX_ID_PART = 2n ** 64n - 1n;
/** The last id a stream can hold: nothing comes after it (and Redis refuses it as an exclusive start). */
const MAX_STREAM_ID = `${MAX_ID_PART}-${MAX_ID_PART}`;

/** '<ms>-<seq>' with both parts unsigned 64-bit integers, as Redis accepts them. */
export function isStreamId(text: string): boolean {
  if (!STREAM_ID_PATTERN.test(text)) return false;
  return text.split('-').every((part) => BigInt(part) <= MAX_ID_PART);
}

type RawEntry = [id: string, fields: string[]];

/** Orders two stream ids ('<ms>-<seq>'; '0' counts as '0-0'). */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}

function decodeEvent(raw: RawEntry): EventEntry | null {
  const [id, fields] = raw;
  let type: string | undefined;
  let data: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'type') type = fields[i + 1];
    else if (fields[i] === 'data') data = fields[i + 1];
  }
  if (type === undefined || data === undefined) return null;
  try {
    return { id, type, data: JSON.parse(data) as Record<string, unknown> };
  } catch {
    return null;
  }
}

function decode(raw: RawEntry): StreamEntry | null {
  const e = decodeEvent(raw);
  return e !== null && isJobEntry(e) ? e : null;
}

/** XADD with an approximate MAXLEN cap. Returns the new entry's id. */
export async function appendStreamEntry(s: Store, jobId: string, type: StreamEntryType, data: object): Promise<string> {
  const id = await s.redis.xadd(s.keys.stream(jobId), 'MAXLEN', '~', String(s.config.metricsMaxLen), '*', 'type', type, 'data', JSON.stringify(data));
  return id as string;
}

export interface StreamPage {
  items: StreamEntry[];
  /** The id of the last entry scanned (pass it as `after` next time), or the given `after` when none. */
  nextCursor: string | null;
}

/**
 * Entries strictly after `after` (null = from the start), oldest first, at most `limit` of the
 * wanted type(s). Scans past entries of other types, so the cursor never skips or repeats.
 */
export async function readStreamPage(
  s: Store,
  jobId: string,
  after: string | null,
  limit: number,
  types: readonly StreamEntryType[] = ['metrics', 'status'],
): Promise<StreamPage> {
  const key = s.keys.stream(jobId);
  const items: StreamEntry[] = [];
  let cursor = after;
  if (cursor !== null && compareStreamIds(cursor, MAX_STREAM_ID) >= 0) return { items, nextCursor: cursor };
  while (items.length < limit) {
    const want = limit - items.length;
    const raw = (await s.redis.xrange(key, cursor === null ? '-' : `(${cursor}`, '+', 'COUNT', want)) as RawEntry[];
    if (raw.length === 0) break;
    for (const r of raw) {
      cursor = r[0];
      const e = decode(r);
      if (e !== null && types.includes(e.type)) items.push(e);
    }
    if (raw.length < want) break;
  }
  return { items, nextCursor: cursor };
}

export interface StreamRead {
  items: EventEntry[];
  /** The last id read (even of an entry that could not be decoded). */
  lastId: string;
}

/**
 * One XREAD BLOCK over many event streams (jobs', sweeps'): waits up to `blockMs` until any of
 * them has entries after its cursor (`after`: stream key → cursor; '0' = from the start, '$' = only
 * new ones), then returns up to `count` entries of each stream that has some. Streams with nothing
 * are absent. `conn` must be a dedicated connection (see duplicateForBlocking): the read ties it up.
 */
export async function readStreamsBlocking(conn: Redis, after: ReadonlyMap<string, string>, count: number, blockMs: number): Promise<Map<string, StreamRead>> {
  const keys = [...after.keys()];
  const res = (await conn.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...keys, ...keys.map((k) => after.get(k) as string))) as
    | [key: string, entries: RawEntry[]][]
    | null;
  const reads = new Map<string, StreamRead>();
  for (const [key, entries] of res ?? []) {
    const last = entries.at(-1);
    if (!after.has(key) || last === undefined) continue;
    const items: EventEntry[] = [];
    for (const r of entries) {
      const e = decodeEvent(r);
      if (e !== null) items.push(e);
    }
    reads.set(key, { items, lastId: last[0] });
  }
  return reads;
}

/** The id of the newest entry, or null for an empty/missing stream. */
export async function lastStreamId(s: Store, jobId: string): Promise<string | null> {
  const raw = (await s.redis.xrevrange(s.keys.stream(jobId), '+', '-', 'COUNT', 1)) as RawEntry[];
  return raw[0]?.[0] ?? null;
}
