// The uninterrupted run a fault test compares against: the same stored job, loaded by the worker's
// own input code and trained here start to finish with the worker's backend and metadata.

import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { train, type EpochMetrics, type TrainResult } from '../../src/core/index.js';
import { getJob } from '../../src/store/jobs.js';
import { createStore } from '../../src/store/redis.js';
import { trainingKernels } from '../../workers/backend.js';
import { loadJobInputs } from '../../workers/inputs.js';

export interface ReferenceRun {
  epochs: EpochMetrics[];
  /** The checkpoint bytes onBest produced, by epoch. */
  bestBytes: Map<number, Uint8Array>;
  result: TrainResult;
}

export async function referenceRun(redis: Redis, prefix: string, dataDir: string, jobId: string, env: Record<string, string> = {}): Promise<ReferenceRun> {
  const config = loadConfig({ KEY_PREFIX: prefix, DATA_DIR: dataDir, ...env });
  const store = createStore(config, redis);
  const record = await getJob(store, jobId);
  if (record === null) throw new Error(`job ${jobId} not found under ${prefix}`);
  const inputs = await loadJobInputs(store, record);
  const epochs: EpochMetrics[] = [];
  const bestBytes = new Map<number, Uint8Array>();
  const result = await train(
    inputs.config,
    { train: inputs.train, validation: inputs.validation },
    {
      onEpoch: (m) => void epochs.push(m),
      onBest: (b) => void bestBytes.set(b.epoch, b.bytes),
    },
    // The worker's own checkpoint metadata: it is part of the compared bytes.
    // (and a fine-tuned job's pinned starting checkpoint).
    { kernels: trainingKernels(), metadata: inputs.checkpointMetadata, initial: inputs.initial },
  );
  return { epochs, bestBytes, result };
}
