// Fault: Redis crashes and loses writes it had acknowledged (`appendfsync everysec` may put the
// append-only file's write off for up to 2 s), here the records of the last epochs trained, while
// the trainer's resume state for those epochs, written to storage after each record, survived.
// The next attempt must not resume past the lost epochs: every epoch ends up in the stream exactly
// once, in order, and the run is bit-identical to an uninterrupted one.
//
// The loss is made by hand on the real Redis (the records removed, the job's record set back to the
// last epoch kept), with the trainer killed first: what a crash in that window leaves behind. A
// real crash hits the window only sometimes (redis-restart.test.ts saw it once in several runs).

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMetrics, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { stalledRecoveryMs } from '../helpers/processes.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { expectSameAsUninterrupted } from './compare.js';
import { slowSpec } from './specs.js';

const EPOCHS = 7;
/** The epochs whose records Redis "lost": the resume state is at the last of them or one later. */
const KEPT = 2;

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'lost-records' });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('Redis lost the last epochs’ records, the resume state is ahead of the stream', () => {
  it('the next attempt trains those epochs again: each epoch once, bit-identical', { timeout: 240_000 }, async () => {
    const streamKey = (id: string) => `${stack.prefix}:job:${id}:stream`;
    const jobKey = (id: string) => `${stack.prefix}:job:${id}`;
    const reader = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    try {
      const first = await stack.startWorker('worker-0');
      const job = await submitJob(stack.api, slowSpec(EPOCHS));
      // Epoch KEPT + 2 recorded: epoch KEPT + 1's resume state is in storage (it is written before
      // the next epoch trains), and maybe KEPT + 2's too.
      await waitForEpoch(stack.api, job.id, KEPT + 2, 120_000);
      first.kill('SIGKILL');
      await first.exited;
      // The trainer leaves when its worker's IPC channel closes; give it time to be gone.
      await sleep(1000);

      const entries = (await reader.xrange(streamKey(job.id), '-', '+')) as [string, string[]][];
      const records = entries
        .filter(([, f]) => f[1] === 'metrics')
        .map(([id, f]) => ({ id, data: f[3] as string, metrics: JSON.parse(f[3] as string) as { epoch: number; attempt: number } }));
      const lost = records.filter((r) => r.metrics.epoch > KEPT);
      const kept = records.find((r) => r.metrics.epoch === KEPT);
      expect(lost.length, 'records past the kept epoch').toBeGreaterThanOrEqual(2);
      expect(kept).toBeDefined();
      // What the crash takes: the lost epochs' entries and the record's pointer to them.
      await reader.xdel(streamKey(job.id), ...lost.map((r) => r.id));
      await reader.hset(jobKey(job.id), 'lastMetrics', `${kept?.metrics.attempt}:${KEPT}`, 'latest', kept?.data as string);

      await stack.startWorker('worker-1');
      const done = await waitForStatus(stack.api, job.id, ['completed'], (await stalledRecoveryMs()) + 180_000);
      expect(done.reason).toBe('max_epochs');

      // Every epoch exactly once, in order: the lost ones recorded again by the second attempt.
      const all = await allMetrics(stack.api, job.id);
      expect(all.map((r) => r.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
      expect(all.filter((r) => r.epoch > KEPT).every((r) => r.attempt > (kept?.metrics.attempt ?? 0))).toBe(true);
      // The job's history says why the attempt started over.
      const restarted = done.history.filter((h) => h.status === 'running').at(-1);
      expect(restarted?.reason).toMatch(new RegExp(`^restarted from epoch 0 \\(the stream lost epochs ${KEPT + 1}-\\d+\\)$`));
      await expectSameAsUninterrupted(stack, done, all);
    } finally {
      reader.disconnect();
    }
  });
});
