// Keeps a per-job "cancel requested" flag current inside a trainer process, so the core's
// shouldStop() reads a boolean between mini-batches instead of asking Redis each time.
// Pub/sub delivers a cancel within milliseconds; a 1 s poll of the flag key covers messages lost
// while the subscriber was reconnecting.

import type { Redis } from 'ioredis';
import { isCancelRequested, subscribeCancels } from '../src/store/cancel.js';
import type { Store } from '../src/store/redis.js';

const POLL_MS = 1000;

/** How a cancel reached the trainer: the pub/sub message, the flag poll, or the flag already set when the job started. */
export type CancelSource = 'message' | 'poll' | 'flag';

export interface CancelWatch {
  /** True once a cancel for the job was seen. */
  readonly cancelled: boolean;
  /** Aborted once a cancel is seen: stops writes a cancelled job no longer needs. */
  readonly signal: AbortSignal;
  /** How the cancel was seen and when (performance.now()), once it was. */
  readonly seen: { via: CancelSource; at: number } | null;
  stop(): void;
}

export interface CancelWatcher {
  watch(jobId: string): Promise<CancelWatch>;
  close(): Promise<void>;
}

interface Watched {
  controller: AbortController;
  seen: { via: CancelSource; at: number } | null;
}

function markCancelled(w: Watched, via: CancelSource): void {
  if (w.seen !== null) return;
  w.seen = { via, at: performance.now() };
  w.controller.abort(new Error(`cancelled (seen by ${via})`));
}

export async function createCancelWatcher(store: Store, subscriber: Redis): Promise<CancelWatcher> {
  const watched = new Map<string, Watched>();
  const unsubscribe = await subscribeCancels(store, subscriber, (jobId) => {
    const w = watched.get(jobId);
    if (w) markCancelled(w, 'message');
  });
  return {
    async watch(jobId) {
      const state: Watched = { controller: new AbortController(), seen: null };
      // Watched before the flag is read: a cancel sent meanwhile is heard one way or the other.
      watched.set(jobId, state);
      if (await isCancelRequested(store, jobId)) markCancelled(state, 'flag');
      const timer = setInterval(() => {
        if (state.seen !== null) return;
        isCancelRequested(store, jobId).then(
          (yes) => {
            if (yes) markCancelled(state, 'poll');
          },
          () => undefined, // Redis briefly away: the next poll or the subscriber will tell.
        );
      }, POLL_MS);
      timer.unref();
      return {
        get cancelled() {
          return state.seen !== null;
        },
        signal: state.controller.signal,
        get seen() {
          return state.seen;
        },
        stop() {
          clearInterval(timer);
          if (watched.get(jobId) === state) watched.delete(jobId);
        },
      };
    },
    async close() {
      await unsubscribe().catch(() => undefined);
    },
  };
}
