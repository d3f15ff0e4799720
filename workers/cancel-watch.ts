// Keeps a per-job "cancel requested" flag current inside a trainer process, so the core's
// shouldStop() reads a boolean between mini-batches instead of asking Redis each time.
// Pub/sub delivers a cancel within milliseconds; a 1 s poll of the flag key covers messages lost
// while the subscriber was reconnecting.

import type { Redis } from 'ioredis';
import { isCancelRequested, subscribeCancels } from '../src/store/cancel.js';
import type { Store } from '../src/store/redis.js';

const POLL_MS = 1000;

export interface CancelWatch {
  /** True once a cancel for the job was seen. */
  readonly cancelled: boolean;
  stop(): void;
}

export interface CancelWatcher {
  watch(jobId: string): Promise<CancelWatch>;
  close(): Promise<void>;
}

export async function createCancelWatcher(store: Store, subscriber: Redis): Promise<CancelWatcher> {
  const watched = new Map<string, { cancelled: boolean }>();
  const unsubscribe = await subscribeCancels(store, subscriber, (jobId) => {
    const w = watched.get(jobId);
    if (w) w.cancelled = true;
  });
  return {
    async watch(jobId) {
      const state = { cancelled: false };
      watched.set(jobId, state);
      state.cancelled = state.cancelled || (await isCancelRequested(store, jobId));
      const timer = setInterval(() => {
        if (state.cancelled) return;
        isCancelRequested(store, jobId).then(
          (yes) => {
            if (yes) state.cancelled = true;
          },
          () => undefined, // Redis briefly away: the next poll or the subscriber will tell.
        );
      }, POLL_MS);
      timer.unref();
      return {
        get cancelled() {
          return state.cancelled;
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
