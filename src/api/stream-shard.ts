// One blocking Redis connection that follows many event streams (jobs', sweeps') with a single
// multi-stream `XREAD BLOCK … STREAMS k1 k2 … id1 id2 …` loop and fans each stream's entries out
// in-process. A stream added or removed while the read blocks interrupts it (CLIENT UNBLOCK from the control
// connection), so that a new follower does not wait for the block to time out; where Redis
// refuses CLIENT UNBLOCK the shard falls back to short blocks.
import type { Redis } from 'ioredis';
import { duplicateForBlocking } from '../store/redis.js';
import { readStreamsBlocking, type EventEntry } from '../store/stream.js';
import type { Subscriber } from './event-hub.js';

/** Entries read per stream per XREAD; a stream with more gets the rest on the next read. */
const READ_COUNT = 100;
/** How many times CLIENT UNBLOCK is tried while it may still race the XREAD it targets. */
const UNBLOCK_TRIES = 40;
const UNBLOCK_RETRY_MS = 5;
/** The block when Redis refuses CLIENT UNBLOCK (an ACL or a managed service without it): a new stream waits at most this long. */
const SHORT_BLOCK_MS = 250;

interface Feed {
  cursor: string;
  subs: Set<Subscriber<EventEntry>>;
  /** When the feed last delivered entries or an idle tick. */
  quietSince: number;
  /** Set when the last subscriber left: a read still in flight for it is dropped. */
  removed: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class StreamShard {
  private readonly feeds = new Map<string, Feed>();
  private conn: Redis | null = null;
  /** CLIENT ID of `conn` (null until asked, and again after a reconnect, which changes it). */
  private clientId: number | null = null;
  /** Number of the XREAD in flight, 0 when none. */
  private reading = 0;
  private reads = 0;
  /** The read an interrupt was already sent for (one per read is enough). */
  private interrupted = 0;
  /** Wakes the loop of a shard that had no stream to follow. */
  private wake: (() => void) | null = null;
  private running = false;
  private closed = false;
  /** Redis answered CLIENT UNBLOCK with an error: reads block at most SHORT_BLOCK_MS instead. */
  private unblockRefused = false;
  /** Each idle tick may come this much early, so that the ticks of many streams share one wake-up. */
  private readonly idleSlackMs: number;

  constructor(
    private readonly control: Redis,
    private readonly name: string,
    private readonly blockMs: number,
  ) {
    this.idleSlackMs = Math.max(1, Math.floor(blockMs / 10));
  }

  /** Streams followed. */
  get streams(): number {
    return this.feeds.size;
  }

  /** True once the shard opened its Redis connection (it keeps it until close). */
  get connected(): boolean {
    return this.conn !== null;
  }

  /** `key` is the stream's Redis key. */
  subscribe(key: string, from: string, sub: Subscriber<EventEntry>): () => void {
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      feed = { cursor: from, subs: new Set(), quietSince: Date.now(), removed: false };
      this.feeds.set(key, feed);
      this.interrupt();
    }
    feed.subs.add(sub);
    if (!this.running) void this.run();
    const f = feed;
    return () => {
      f.subs.delete(sub);
      if (f.subs.size === 0 && !f.removed) {
        this.remove(key, f);
        // The blocked read stops watching the stream (a shard left with none stops reading).
        this.interrupt();
      }
    };
  }

  close(): void {
    this.closed = true;
    for (const [key, feed] of this.feeds) this.remove(key, feed);
    // Aborts a blocked XREAD at once.
    this.conn?.disconnect();
    this.wake?.();
  }

  private remove(key: string, feed: Feed): void {
    feed.removed = true;
    if (this.feeds.get(key) === feed) this.feeds.delete(key);
  }

  /** Calls every subscriber of the feed; one that throws is dropped, so it cannot stop the shard's other streams. */
  private notify(key: string, feed: Feed, call: (sub: Subscriber<EventEntry>) => void): void {
    for (const sub of [...feed.subs]) {
      try {
        call(sub);
      } catch {
        feed.subs.delete(sub);
        if (feed.subs.size === 0) this.remove(key, feed);
      }
    }
  }

  private connection(): Redis {
    if (this.conn === null) {
      const conn = duplicateForBlocking(this.control, this.name);
      // Outages surface as reads that wait and retry (maxRetriesPerRequest: null); without a
      // listener ioredis would print every reconnect error of every shard.
      conn.on('error', () => undefined);
      // A reconnect gives the connection a new client id.
      conn.on('close', () => {
        this.clientId = null;
      });
      this.conn = conn;
    }
    return this.conn;
  }

  /** Makes a blocked read return now so that the next one covers the streams followed now. */
  private interrupt(): void {
    if (this.reading === 0) {
      // Between reads: the next one is built from the current streams anyway.
      this.wake?.();
      return;
    }
    if (this.interrupted === this.reading) return;
    this.interrupted = this.reading;
    void this.unblock(this.reading);
  }

  private async unblock(read: number): Promise<void> {
    // The XREAD goes out on another connection than CLIENT UNBLOCK and may not be blocking yet
    // (UNBLOCK then answers 0): try again until it answers 1 or that read has returned.
    for (let i = 0; i < UNBLOCK_TRIES && this.reading === read && !this.closed; i++) {
      if (this.clientId !== null) {
        try {
          if ((await this.control.client('UNBLOCK', this.clientId)) === 1) return;
        } catch (err) {
          // Refused (NOPERM, unknown command): fall back to short blocks. Unreachable: the read
          // returns by its own timeout.
          if (err instanceof Error && err.name === 'ReplyError') this.unblockRefused = true;
          return;
        }
      }
      await sleep(UNBLOCK_RETRY_MS);
    }
  }

  /** Asks Redis once per connection whether CLIENT UNBLOCK is allowed (our own idle connection: a no-op). */
  private async checkUnblock(id: number): Promise<void> {
    try {
      await this.control.client('UNBLOCK', id);
      this.unblockRefused = false;
    } catch (err) {
      if (err instanceof Error && err.name === 'ReplyError') this.unblockRefused = true;
    }
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed) {
        if (this.feeds.size === 0) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = null;
          continue;
        }
        await this.readOnce();
      }
    } finally {
      this.running = false;
    }
  }

  /** One XREAD over every followed stream, then the fan-out and the idle ticks it allows. */
  private async readOnce(): Promise<void> {
    const conn = this.connection();
    try {
      if (this.clientId === null) {
        this.clientId = await conn.client('ID');
        await this.checkUnblock(this.clientId);
      }
    } catch {
      if (!this.closed) await sleep(this.idleSlackMs);
      return;
    }
    if (this.closed || this.feeds.size === 0) return;
    const following = new Map(this.feeds);
    const cursors = new Map<string, string>();
    let nextIdle = Infinity;
    for (const [key, feed] of following) {
      cursors.set(key, feed.cursor);
      nextIdle = Math.min(nextIdle, feed.quietSince + this.blockMs);
    }
    // Block no longer than the next idle tick is due, and never so briefly that ticks spin the loop.
    const longest = this.unblockRefused ? Math.min(SHORT_BLOCK_MS, this.blockMs) : this.blockMs;
    const block = Math.round(Math.min(longest, Math.max(Math.min(this.idleSlackMs, longest), nextIdle - Date.now())));

    this.reads += 1;
    this.reading = this.reads;
    let got;
    try {
      got = await readStreamsBlocking(conn, cursors, READ_COUNT, block);
    } catch (err) {
      this.reading = 0;
      if (this.closed) return;
      // A Redis error reply fails every stream of this read: their clients end and reconnect with Last-Event-ID.
      for (const [key, feed] of following) {
        if (feed.removed) continue;
        this.remove(key, feed);
        this.notify(key, feed, (sub) => sub.fail(err));
      }
      await sleep(this.idleSlackMs);
      return;
    }
    this.reading = 0;
    if (this.closed) return;

    const now = Date.now();
    for (const [key, feed] of following) {
      if (feed.removed) continue;
      const read = got.get(key);
      if (read !== undefined) {
        feed.cursor = read.lastId;
        feed.quietSince = now;
        if (read.items.length > 0) this.notify(key, feed, (sub) => sub.push(read.items));
      } else if (now - feed.quietSince >= this.blockMs - this.idleSlackMs) {
        feed.quietSince = now;
        this.notify(key, feed, (sub) => sub.idle());
      }
    }
  }
}
