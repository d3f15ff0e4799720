// One trainer process started ahead of the next job, so a job skips the trainer's start-up (about
// 0.4 s of CPU: modules, Redis connections, kernels). Each job still trains in a process of its
// own that ends with it: a spare is used once. While it waits, the spare loads the datasets the
// worker's recent jobs used (most recent first, up to DATASET_CACHE_BYTES), so a job on one of them
// starts without reading its file. Those bytes are reserved in the worker's memory admission while
// the spare holds them; a job that needs the room gets it (the spare is ended first), and a job
// that takes the spare has its dataset counted in its own estimate (the rest are dropped).

import type { Logger } from 'pino';
import type { MemoryAdmission } from './admission.js';
import { startTrainer, type Trainer } from './trainer-process.js';

/** Dataset ids remembered as recently used (the spare loads those that fit in the cache bytes). */
const RECENT_DATASETS = 8;

export interface SpareTrainers {
  /** The spare if it is ready with heap cap `cap` (then it is the caller's), else null. */
  take(cap: number | null): Promise<Trainer | null>;
  /** A job loaded these datasets: they go to the front of the recently used list. */
  used(datasetIds: readonly string[]): void;
  /** Starts a spare with heap cap `cap` (the last job's) unless one with that cap is waiting. */
  replenish(cap: number | null): void;
  /** Ends a spare that holds preloaded datasets, giving their reserved bytes back; false when there was none. */
  evict(): boolean;
  close(): void;
}

export function createSpareTrainers(admission: MemoryAdmission, cacheBytes: number, logger: Logger): SpareTrainers {
  let spare: Trainer | null = null;
  let reserved: (() => void) | null = null;
  let closed = false;
  const recent: string[] = [];

  const giveBack = () => {
    reserved?.();
    reserved = null;
  };
  const end = (t: Trainer) => {
    if (!t.ended) t.child.kill('SIGKILL');
  };

  return {
    async take(cap) {
      const t = spare;
      if (t === null || t.cap !== cap || t.ended || !(await t.ready) || spare !== t) return null;
      spare = null;
      // The job's own estimate counts its dataset from here; the others are dropped as it starts.
      giveBack();
      return t;
    },
    used(datasetIds) {
      for (const id of [...datasetIds].reverse()) {
        const at = recent.indexOf(id);
        if (at >= 0) recent.splice(at, 1);
        recent.unshift(id);
      }
      recent.length = Math.min(recent.length, RECENT_DATASETS);
    },
    replenish(cap) {
      if (closed || (spare !== null && spare.cap === cap && !spare.ended)) return;
      if (spare !== null) end(spare);
      giveBack();
      const t = startTrainer(cap);
      spare = t;
      void t.closed.then(({ code, signal }) => {
        if (spare !== t) return;
        spare = null;
        giveBack();
        if (!closed) logger.warn({ trainerPid: t.child.pid, code, signal }, 'spare trainer ended before it got a job');
      });
      if (cacheBytes > 0 && recent.length > 0) reserved = admission.tryAdmit(cacheBytes);
      // The spare warms up in any case (workers/warm-up.ts); it loads the recent datasets only with
      // their room reserved (none for jobs on built-in datasets, or with DATASET_CACHE_BYTES=0).
      t.send(reserved === null ? { type: 'preload', datasets: [], maxBytes: 0 } : { type: 'preload', datasets: [...recent], maxBytes: cacheBytes });
    },
    evict() {
      if (spare === null || reserved === null) return false;
      const t = spare;
      spare = null;
      giveBack();
      end(t);
      return true;
    },
    close() {
      closed = true;
      if (spare !== null) end(spare);
      spare = null;
      giveBack();
    },
  };
}
