// Contract test for src/queue/bullmq-internals.ts against the pinned BullMQ: the two things we do
// with BullMQ's private keys still mean what we think, checked against a real Worker on Redis.
// When a BullMQ upgrade changes its layout, this fails instead of queue positions going wrong or
// handed-back jobs idling for seconds.
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitingPosition, wakeIdleWorkers } from '../../src/queue/bullmq-internals.js';
import { deleteKeys, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { sleep, waitFor } from '../helpers/wait.js';

const NAME = 'contract';
let prefix: string;
let redis: Redis;
let queue: Queue;
const workers: Worker[] = [];
const queues: Queue[] = [];

beforeEach(() => {
  prefix = uniquePrefix('bullmq');
  redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue(NAME, { connection: redis, prefix });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(true)));
  await Promise.all(queues.splice(0).map((q) => q.close()));
  await queue.close();
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
});

function worker(processor: ((job: Job) => Promise<void>) | null, drainDelaySeconds = 5, name = NAME): Worker {
  const w = new Worker(name, processor, { connection: new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null }), prefix, concurrency: 1, drainDelay: drainDelaySeconds, autorun: processor !== null });
  workers.push(w);
  return w;
}

describe('BullMQ private layout (pinned version)', () => {
  it('waitingPosition is the order in which a real Worker takes the jobs, prioritized or not', async () => {
    const specs = [
      { id: 'p50-a', priority: 50 },
      { id: 'plain-a' },
      { id: 'p1-a', priority: 1 },
      { id: 'p50-b', priority: 50 },
      { id: 'plain-b' },
      { id: 'p1-b', priority: 1 },
      { id: 'p99', priority: 99 },
    ];
    for (const s of specs) await queue.add('t', {}, { jobId: s.id, ...(s.priority !== undefined ? { priority: s.priority } : {}) });
    const positions = await Promise.all(specs.map((s) => waitingPosition(queue, redis, s.id)));
    const predicted = specs.map((s, i) => ({ id: s.id, at: positions[i] })).sort((a, b) => (a.at ?? -1) - (b.at ?? -1)).map((p) => p.id);
    expect([...positions].sort()).toEqual(specs.map((_, i) => i));

    const taken: string[] = [];
    worker(async (job) => {
      taken.push(job.id ?? '');
    });
    await waitFor(async () => taken.length === specs.length, { timeoutMs: 10_000, what: 'the worker to take every job' });
    expect(taken).toEqual(predicted);
    expect(await waitingPosition(queue, redis, 'p99')).toBeNull();
  });

  it('moveToWait of a prioritized job does not wake idle workers; wakeIdleWorkers does', async () => {
    // Each measurement on a queue of its own: nothing of the first (a closing worker) can touch the second.
    const handBackAndTime = async (wake: boolean): Promise<number> => {
      const name = `${NAME}-${wake ? 'wake' : 'plain'}`;
      const own = new Queue(name, { connection: redis, prefix });
      queues.push(own);
      const jobId = `job-${wake}`;
      await own.add('t', {}, { jobId, priority: 5 });
      const manual = worker(null, 5, name);
      const token = `token-${wake}`;
      // getNextJob may come back empty-handed (its blocking wait on the marker can end first): ask again.
      const job = await waitFor(async () => (await manual.getNextJob(token)) ?? null, { timeoutMs: 10_000, what: 'the manual worker to take the job' });
      expect(job.id).toBe(jobId);
      let takenAt = 0;
      const idle = worker(
        async () => {
          takenAt = Date.now();
        },
        3,
        name,
      );
      await idle.waitUntilReady();
      await sleep(500); // idle is now blocked waiting for the marker
      const handedBackAt = Date.now();
      await job.moveToWait(token);
      if (wake) await wakeIdleWorkers(own, redis);
      await waitFor(async () => takenAt > 0, { timeoutMs: 10_000, what: 'the idle worker to take the handed-back job' });
      await Promise.all(workers.splice(0).map((w) => w.close(true)));
      return takenAt - handedBackAt;
    };
    const without = await handBackAndTime(false);
    const withWake = await handBackAndTime(true);
    console.info(`handed-back job taken by an idle worker after ${without} ms without the marker, ${withWake} ms with it`);
    // If BullMQ starts adding the marker itself, `without` drops and wakeIdleWorkers can go.
    expect(without).toBeGreaterThan(1500);
    expect(withWake).toBeLessThan(1000);
  });
});
