// Memory admission with a real worker: with WORKER_MEMORY_BYTES = 100 MiB and room for four jobs by
// count, two 60 MiB jobs never train at the same time, a 10 MiB job that arrived after the second
// waits its turn instead of overtaking it beside the first, and a 200 MiB job fails at once.
// The estimates are set on the queued BullMQ jobs' data (job.data.memoryBytes, as submission does)
// before the worker starts.

import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob, submitJob, waitForStatus, type JobView } from '../helpers/api.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { slowSpec } from './specs.js';

const MIB = 1024 * 1024;
const BUDGET = 100 * MIB;

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'admission', env: { WORKER_CONCURRENCY: '4', WORKER_MEMORY_BYTES: String(BUDGET) } });
});

afterAll(async () => {
  await stack?.dispose();
});

const at = (job: JobView, status: string) => Date.parse(job.history.find((h) => h.status === status)?.at ?? 'NaN');

describe('a worker admits jobs within WORKER_MEMORY_BYTES', () => {
  it('runs jobs only while their estimates fit, in arrival order, and fails one larger than the budget at once', { timeout: 180_000 }, async () => {
    const sizes: [string, number][] = [
      ['big-1', 60 * MIB],
      ['big-2', 60 * MIB],
      ['small', 10 * MIB],
      ['huge', 200 * MIB],
    ];
    const ids = new Map<string, string>();
    for (const [name] of sizes) ids.set(name, (await submitJob(stack.api, slowSpec(name === 'small' ? 1 : 2, { name }))).id);
    const queue = new Queue('train', { connection: stack.redis, prefix: stack.prefix });
    try {
      for (const [name, bytes] of sizes) {
        const job = await queue.getJob(ids.get(name) as string);
        expect(job, name).toBeDefined();
        await job?.updateData({ ...job.data, memoryBytes: bytes });
      }
    } finally {
      await queue.close();
    }

    const worker = await stack.startWorker('worker');
    const huge = await waitForStatus(stack.api, ids.get('huge') as string, ['failed'], 20_000);
    expect(huge.reason).toBe(`error: the job needs about 200 MiB of memory, more than this worker's WORKER_MEMORY_BYTES=${BUDGET} (100 MiB)`);
    expect(huge.history.map((h) => h.status)).toEqual(['queued', 'failed']);
    // "At once": before the first job has finished.
    expect(['queued', 'running']).toContain((await getJob(stack.api, ids.get('big-1') as string)).status);

    const done = new Map<string, JobView>();
    for (const name of ['big-1', 'big-2', 'small']) {
      done.set(name, await waitForStatus(stack.api, ids.get(name) as string, ['completed'], 120_000));
    }
    const big1 = done.get('big-1') as JobView;
    const big2 = done.get('big-2') as JobView;
    const small = done.get('small') as JobView;
    // 60 + 60 > 100: one after the other.
    expect(at(big2, 'running')).toBeGreaterThanOrEqual(at(big1, 'completed'));
    // 60 + 10 fits beside big-1, but the small job came after big-2: it waits for big-2's turn
    // (both are admitted when big-1 ends, big-2 first; their trainers then start side by side).
    expect(at(small, 'running')).toBeGreaterThanOrEqual(at(big1, 'completed'));
    const admitted = worker.logs.filter((l) => l.msg === 'job admitted').map((l) => l.jobId);
    expect(admitted, worker.tail()).toEqual([ids.get('big-2'), ids.get('small')]);
    for (const job of [big1, big2, small]) expect(job.history.filter((h) => h.status === 'running').length).toBe(1);
  });
});
