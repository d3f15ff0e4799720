// Within-epoch progress for this process's SSE clients: one subscriber connection (opened on the
// first follower), subscribed to the progress channel of exactly the jobs someone follows here,
// each message fanned out to that job's listeners. Jobs nobody follows cost nothing.
import type { Redis } from 'ioredis';
import { parseProgress, type ProgressMessage } from '../store/progress.js';
import { duplicateForBlocking, type Store } from '../store/redis.js';

export type ProgressListener = (p: ProgressMessage) => void;

export class ProgressFeed {
  private conn: Redis | null = null;
  /** Channel → the listeners of its job. */
  private readonly listeners = new Map<string, Set<ProgressListener>>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly control: Redis,
  ) {}

  /** Channels subscribed to (jobs followed). */
  get size(): number {
    return this.listeners.size;
  }

  /** Calls `listener` with each progress message of the job until the returned function is called. */
  subscribe(jobId: string, listener: ProgressListener): () => void {
    if (this.closed) return () => undefined;
    const channel = this.store.keys.progressChannel(jobId);
    let set = this.listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
      // SUBSCRIBE and UNSUBSCRIBE go out in order on one connection, so quick churn ends right.
      // ioredis subscribes again by itself after a reconnect.
      this.connection().subscribe(channel).catch(() => undefined);
    }
    set.add(listener);
    const s = set;
    return () => {
      s.delete(listener);
      if (s.size === 0 && this.listeners.get(channel) === s) {
        this.listeners.delete(channel);
        if (!this.closed) this.conn?.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.conn?.disconnect();
  }

  private connection(): Redis {
    if (this.conn === null) {
      const conn = duplicateForBlocking(this.control, 'progress');
      // Outages show as missing progress only; the SSE streams carry on from the metrics stream.
      conn.on('error', () => undefined);
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
