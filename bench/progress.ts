// What within-epoch progress costs a trainer: the Fashion-MNIST MLP trained with the service's
// onProgress (publishProgress to a real Redis, a subscriber counting what arrives) against the
// same training without it, alternating in one run so drift hits both. Also the worst case: a
// publish after every mini-batch instead of at most 4 a second. Timed in this process's CPU
// seconds (user + system), which other work on a shared machine disturbs far less than wall time.
import type { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import type { Kernels } from '../src/core/kernels/kernels.js';
import { train } from '../src/core/train.js';
import type { Dataset } from '../src/core/types.js';
import { publishProgress } from '../src/store/progress.js';
import { createRedis, createStore, duplicateForBlocking, redisAnswers } from '../src/store/redis.js';
import { mlpConfig, type MlpRun } from './mlp.js';

export type ProgressMode = 'off' | 'throttled' | 'every-batch';

export interface ProgressOverhead {
  /** Median CPU seconds of one training run per mode. */
  seconds: Record<ProgressMode, number>;
  /** Median over rounds of (mode ÷ off) within the round. */
  ratio: Record<Exclude<ProgressMode, 'off'>, number>;
  /** Messages the subscriber received per run, by mode. */
  received: Record<Exclude<ProgressMode, 'off'>, number>;
  /** CPU microseconds one progress report costs, from the every-batch runs: (every-batch − off) ÷ reports. */
  microsPerReport: number;
  rounds: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Null when no Redis answers at REDIS_URL (the section is then skipped). */
export async function measureProgressOverhead(run: MlpRun, data: Dataset, kernels: Kernels, rounds: number): Promise<ProgressOverhead | null> {
  const config = loadConfig({ ...process.env, KEY_PREFIX: `traind-bench-${process.pid}` });
  if (!(await redisAnswers(config.redisUrl))) return null;
  const redis = createRedis(config, { name: 'bench-progress', maxRetriesPerRequest: null });
  const subscriber: Redis = duplicateForBlocking(redis, 'bench-progress-sub');
  const store = createStore(config, redis);
  const jobId = 'job_bench_progress';
  let received = 0;
  subscriber.on('message', () => void (received += 1));
  await subscriber.subscribe(store.keys.progressChannel(jobId));
  await redis.ping();

  const cfg = mlpConfig(run, data.n);
  const once = async (mode: ProgressMode): Promise<{ seconds: number; received: number }> => {
    received = 0;
    const started = process.cpuUsage();
    await train(
      cfg,
      { train: data, validation: null },
      mode === 'off' ? {} : { onProgress: (p) => publishProgress(store, jobId, p) },
      { kernels, ...(mode === 'every-batch' ? { progressIntervalMs: 0 } : {}) },
    );
    const used = process.cpuUsage(started);
    const seconds = (used.user + used.system) / 1e6;
    // Let the last publishes arrive before counting.
    await redis.ping();
    await new Promise((r) => setTimeout(r, 50));
    return { seconds, received };
  };

  const times: Record<ProgressMode, number[]> = { off: [], throttled: [], 'every-batch': [] };
  const ratios: Record<Exclude<ProgressMode, 'off'>, number[]> = { throttled: [], 'every-batch': [] };
  const counts: Record<Exclude<ProgressMode, 'off'>, number[]> = { throttled: [], 'every-batch': [] };
  try {
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so that neither mode always runs first.
      const order: ProgressMode[] = (['off', 'throttled', 'every-batch'] as const).map((_, i, all) => all[(i + r) % all.length]!);
      const round: Partial<Record<ProgressMode, number>> = {};
      for (const mode of order) {
        const res = await once(mode);
        round[mode] = res.seconds;
        times[mode].push(res.seconds);
        if (mode !== 'off') counts[mode].push(res.received);
      }
      ratios.throttled.push(round.throttled! / round.off!);
      ratios['every-batch'].push(round['every-batch']! / round.off!);
    }
  } finally {
    subscriber.disconnect();
    redis.disconnect();
  }
  return {
    seconds: { off: median(times.off), throttled: median(times.throttled), 'every-batch': median(times['every-batch']) },
    ratio: { throttled: median(ratios.throttled), 'every-batch': median(ratios['every-batch']) },
    received: { throttled: median(counts.throttled), 'every-batch': median(counts['every-batch']) },
    microsPerReport: ((median(times['every-batch']) - median(times.off)) * 1e6) / Math.max(1, median(counts['every-batch'])),
    rounds,
  };
}
