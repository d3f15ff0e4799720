// One blocking stream reader per job in this process, fanned out to every SSE client watching
// that job: a thousand clients on one job cost one Redis connection, not a thousand.
// A feed starts at the first subscriber's cursor and stops when its last subscriber leaves.
import type { Redis } from 'ioredis';
import { duplicateForBlocking, type Store } from '../store/redis.js';
import { readStreamBlocking, type StreamEntry } from '../store/stream.js';

/** How long one XREAD blocks; each quiet period ends with `idle()` for every subscriber. */
export const BLOCK_MS = 10_000;

export interface Subscriber {
  /** New entries, in stream order. A subscriber may see entries it already has: it drops them by id. */
  push(entries: StreamEntry[]): void;
  /** Nothing arrived for BLOCK_MS. */
  idle(): void;
  /** The feed's reader failed; the subscriber should end. */
  fail(err: unknown): void;
}

interface Feed {
  cursor: string;
  subs: Set<Subscriber>;
  conn: Redis;
  stopped: boolean;
}

export class EventHub {
  private readonly feeds = new Map<string, Feed>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly redis: Redis,
    private readonly blockMs = BLOCK_MS,
  ) {}

  /** Number of live feeds (one Redis reader each). */
  get size(): number {
    return this.feeds.size;
  }

  /**
   * Adds a subscriber to the job's feed, starting one at `from` if none runs. An existing feed
   * may be past `from`: the caller catches up with XRANGE after subscribing. Returns unsubscribe.
   */
  subscribe(jobId: string, from: string, sub: Subscriber): () => void {
    if (this.closed) throw new Error('event hub is closed');
    let feed = this.feeds.get(jobId);
    if (feed === undefined) {
      feed = { cursor: from, subs: new Set(), conn: duplicateForBlocking(this.redis), stopped: false };
      this.feeds.set(jobId, feed);
      void this.run(jobId, feed);
    }
    feed.subs.add(sub);
    const f = feed;
    return () => {
      f.subs.delete(sub);
      if (f.subs.size === 0) this.stop(jobId, f);
    };
  }

  close(): void {
    this.closed = true;
    for (const [jobId, feed] of this.feeds) this.stop(jobId, feed);
  }

  private stop(jobId: string, feed: Feed): void {
    if (feed.stopped) return;
    feed.stopped = true;
    if (this.feeds.get(jobId) === feed) this.feeds.delete(jobId);
    // Aborts a blocked XREAD at once.
    feed.conn.disconnect();
  }

  private async run(jobId: string, feed: Feed): Promise<void> {
    try {
      while (!feed.stopped) {
        const { items, lastId } = await readStreamBlocking(feed.conn, this.store, jobId, feed.cursor, 100, this.blockMs);
        if (feed.stopped) break;
        feed.cursor = lastId;
        for (const sub of [...feed.subs]) {
          if (items.length > 0) sub.push(items);
          else sub.idle();
        }
      }
    } catch (err) {
      if (!feed.stopped) for (const sub of [...feed.subs]) sub.fail(err);
    } finally {
      this.stop(jobId, feed);
    }
  }
}
