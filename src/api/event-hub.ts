// Every SSE client of this process follows its job (or sweep) through one hub: the streams are
// sharded over a small fixed number of blocking Redis connections (SSE_REDIS_CONNECTIONS), each
// reading all its streams with one XREAD (stream-shard.ts), and each stream's entries are fanned
// out to its clients. A feed starts at its first subscriber's cursor and ends when its last one leaves.
// Within-epoch progress, which is not in the stream, comes from pub/sub (progress-feed.ts).
import type { Redis } from 'ioredis';
import type { Store } from '../store/redis.js';
import { isJobEntry, type EventEntry, type StreamEntry } from '../store/stream.js';
import { ProgressFeed, type ProgressListener } from './progress-feed.js';
import { StreamShard } from './stream-shard.js';

/** Longest XREAD block; a job quiet this long gets `idle()` (keep-alive, end-of-job check). */
export const BLOCK_MS = 10_000;

export interface Subscriber<E extends EventEntry = StreamEntry> {
  /** New entries, in stream order. A subscriber may see entries it already has: it drops them by id. */
  push(entries: E[]): void;
  /** Nothing arrived for about BLOCK_MS (up to a tenth of it early). */
  idle(): void;
  /** The feed's reader failed; the subscriber should end. */
  fail(err: unknown): void;
}

export interface EventHubOptions {
  /** Blocking Redis connections shared by all followed jobs (default 4). */
  connections?: number;
  blockMs?: number;
}

/** FNV-1a: a stream always lands on the same shard, and keys spread evenly. */
function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

export class EventHub {
  private readonly shards: StreamShard[];
  private readonly progress: ProgressFeed;
  private readonly keys: Store['keys'];
  private closed = false;

  /** `redis` is the control connection (CLIENT UNBLOCK); the shards open their own, named `…:sse-<i>`. */
  constructor(store: Store, redis: Redis, options: EventHubOptions = {}) {
    const n = options.connections ?? 4;
    const blockMs = options.blockMs ?? BLOCK_MS;
    this.shards = Array.from({ length: n }, (_, i) => new StreamShard(redis, `sse-${i}`, blockMs));
    this.keys = store.keys;
    this.progress = new ProgressFeed(store, redis);
  }

  /** Number of streams (jobs and sweeps) followed. */
  get size(): number {
    return this.shards.reduce((n, s) => n + s.streams, 0);
  }

  /** Blocking Redis connections opened so far (at most SSE_REDIS_CONNECTIONS). */
  get connections(): number {
    return this.shards.filter((s) => s.connected).length;
  }

  /**
   * Adds a subscriber to the job's feed, starting one at `from` if none runs. An existing feed
   * may be past `from`: the caller catches up with XRANGE after subscribing. Returns unsubscribe.
   */
  subscribe(jobId: string, from: string, sub: Subscriber): () => void {
    // A job's stream holds metrics and status entries; anything else is not for its clients.
    return this.follow(this.keys.stream(jobId), from, {
      push: (entries) => sub.push(entries.filter(isJobEntry)),
      idle: () => sub.idle(),
      fail: (err) => sub.fail(err),
    });
  }

  /** The same for a sweep's event stream (trial and sweep events). */
  subscribeSweep(sweepId: string, from: string, sub: Subscriber<EventEntry>): () => void {
    return this.follow(this.keys.sweepStream(sweepId), from, sub);
  }

  private follow(key: string, from: string, sub: Subscriber<EventEntry>): () => void {
    if (this.closed) throw new Error('event hub is closed');
    return (this.shards[shardOf(key, this.shards.length)] as StreamShard).subscribe(key, from, sub);
  }

  /** Hears the job's within-epoch progress (ephemeral, never in the stream). Returns unsubscribe. */
  subscribeProgress(jobId: string, listener: ProgressListener): () => void {
    if (this.closed) throw new Error('event hub is closed');
    return this.progress.subscribe(jobId, listener);
  }

  close(): void {
    this.closed = true;
    for (const s of this.shards) s.close();
    this.progress.close();
  }
}
