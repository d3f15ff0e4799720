// Within-epoch progress for this process's SSE clients: one subscriber connection (opened on the
// first follower), subscribed to the progress channel of exactly the jobs someone follows here,
// each message fanned out to that job's listeners. Jobs nobody follows cost nothing.
import type { Redis } from 'ioredis';
import { parseProgress, type ProgressMessage } from '../store/progress.js';
import { duplicateForBlocking, type Store } from '../store/redis.js';

export type ProgressListener = (p: ProgressMessage) => void;

const RETRY_MS = 100;

export class ProgressFeed {
  private conn: Redis | null = null;
  /** Channel → the listeners of its job. */
  private readonly listeners = new Map<string, Set<ProgressListener>>();
  /** Channels wanted but not yet confirmed subscribed. */
  private readonly pending = new Set<string>();
  private flushing = false;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly control: Redis,
  ) {}

  /** Calls `listener` with each progress message of the job until the returned function is called. */
  subscribe(jobId: string, listener: ProgressListener): () => void {
    if (this.closed) return () => undefined;
    const channel = this.store.keys.progressChannel(jobId);
    let set = this.listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
      this.pending.add(channel);
      this.flush();
    }
    set.add(listener);
    const s = set;
    return () => {
      s.delete(listener);
      if (s.size === 0 && this.listeners.get(channel) === s) {
        this.listeners.delete(channel);
        // Not subscribed yet: nothing to undo (one in flight is undone when it is confirmed).
        if (this.pending.delete(channel)) return;
        if (!this.closed && this.conn?.status === 'ready') this.conn.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.pending.clear();
    if (this.retry !== null) clearTimeout(this.retry);
    this.conn?.disconnect();
  }

  /**
   * Subscribes the pending channels in one SUBSCRIBE, only once the connection is ready: ioredis
   * refuses a SUBSCRIBE queued while a subscriber connection is still connecting ("Connection in
   * subscriber mode"), so they wait for 'ready', and a refused one is tried again shortly.
   * After a reconnect ioredis subscribes the confirmed channels again by itself.
   */
  private flush(): void {
    const conn = this.connection();
    if (this.closed || this.flushing || conn.status !== 'ready' || this.pending.size === 0) return;
    const channels = [...this.pending];
    this.flushing = true;
    conn.subscribe(...channels).then(
      () => {
        const gone: string[] = [];
        for (const c of channels) {
          // Left while the SUBSCRIBE was on its way: undo it now.
          if (!this.pending.delete(c) && !this.listeners.has(c)) gone.push(c);
        }
        if (gone.length > 0 && !this.closed) conn.unsubscribe(...gone).catch(() => undefined);
        this.flushing = false;
        this.flush();
      },
      () => {
        this.flushing = false;
        this.retry ??= setTimeout(() => {
          this.retry = null;
          this.flush();
        }, RETRY_MS);
      },
    );
  }

  private connection(): Redis {
    if (this.conn === null) {
      const conn = duplicateForBlocking(this.control, 'progress');
      // Outages show as missing progress only; the SSE streams carry on from the metrics stream.
      conn.on('error', () => undefined);
      conn.on('ready', () => this.flush());
      conn.on('message', (channel: string, message: string) => {
        const set = this.listeners.get(channel);
        if (set === undefined) return;
        const p = parseProgress(message);
        if (p === null) return;
        for (const listener of [...set]) {
          try {
            listener(p);
          } catch {
            set.delete(listener);
          }
        }
      });
      this.conn = conn;
    }
    return this.conn;
  }
}
