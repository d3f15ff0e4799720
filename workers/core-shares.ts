// How many threads a job trains on: the cores its worker's running jobs leave idle, up to
// TRAIN_THREADS, and at least one. A lone job on a 2-core worker gets both; a job that starts
// beside it gets one (the first keeps its two until it ends: a pool is sized once per job).
// Results do not depend on it (the native GEMM partitions work so that no sum depends on the
// thread count), and the job records what it got.

export interface CoreShares {
  /** Threads for a job starting now, and the release to call when it ends. */
  take(): { threads: number; release(): void };
  /** Threads held by running jobs. */
  readonly inUse: number;
}

export function createCoreShares(cores: number, maxPerJob: number): CoreShares {
  let inUse = 0;
  return {
    get inUse() {
      return inUse;
    },
    take() {
      const threads = Math.max(1, Math.min(maxPerJob, cores - inUse));
      inUse += threads;
      let released = false;
      return {
        threads,
        release() {
          if (released) return;
          released = true;
          inUse -= threads;
        },
      };
    },
  };
}
