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
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allMetrics, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { stalledRecoveryMs } from '../helpers/processes.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { loadConfig } from '../../src/config.js';
import { resumeStateSummary } from '../../src/core/index.js';
import { readResumeState } from '../../src/store/checkpoints.js';
import { createStore } from '../../src/store/redis.js';
import { expectSameAsUninterrupted } from './compare.js';
import { slowSpec } from './specs.js';

const EPOCHS = 7;
/** The epochs whose records Redis "lost": the resume state is at the last of them or one later. */
const KEPT = 2;

let stack: ProcessStack;

// A stack of its own for each case: the workers one case leaves must not take the other's job.
beforeEach(async () => {
  stack = await startProcessStack({ tag: 'lost-records', env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '150' } });
});

afterEach(async () => {
  await stack?.dispose();
});

describe('Redis lost writes the resume state assumes', () => {
  it('the stream lost the last epochs’ records: the next attempt trains them again, each epoch once, bit-identical', { timeout: 240_000 }, async () => {
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

  it('the checkpoint index lost the last epoch’s checkpoint: the next attempt trains again, every checkpoint kept', { timeout: 240_000 }, async () => {
    const EPOCH = 3;
    const indexKey = (id: string) => `${stack.prefix}:job:${id}:checkpoints`;
    const store = createStore(loadConfig({ KEY_PREFIX: stack.prefix, DATA_DIR: stack.dataDir, ...stack.env }), stack.redis);
    // Every new best is a job.checkpoint event: the run that catches up must not announce old ones again.
    const receiver = await startReceiver();
    const hook = await stack.api.post<{ secret: string }>('/v1/webhooks', { url: receiver.url, events: ['job.checkpoint'] });
    expect(hook.status).toBe(201);
    receiver.secret = hook.body.secret;
    const first = await stack.startWorker('worker-0');
    // Every epoch's checkpoint kept, so a missing one shows in the final list; batch 1 for epochs
    // of a few hundred milliseconds.
    const job = await submitJob(stack.api, slowSpec(EPOCHS, { checkpoints: { keepBest: 10 }, batchSize: 1 }));
    const started = await first.waitForLog((l) => l.msg === 'trainer started' && l.jobId === job.id, 30_000, 'the trainer');
    // Stop the trainer the moment epoch 3's resume state is stored: its record and checkpoint are
    // written before it, epoch 4's record is most of an epoch away.
    await waitFor(async () => resumeStateSummary((await readResumeState(store, job.id)) ?? new Uint8Array())?.epoch === EPOCH, {
      timeoutMs: 120_000,
      intervalMs: 2,
      what: `epoch ${EPOCH}'s resume state`,
    });
    process.kill(started.trainerPid as number, 'SIGKILL');
    first.kill('SIGKILL');
    await first.exited;
    await sleep(1000);
    const atKill = await stack.api.get<{ latest: { epoch: number } }>(`/v1/jobs/${job.id}`);
    expect(atKill.body.latest.epoch, 'killed between epoch 3’s resume state and epoch 4’s record').toBe(EPOCH);
    expect(await stack.redis.hexists(indexKey(job.id), `e:${EPOCH}`)).toBe(1);
    // What the crash takes: the index's entry for epoch 3 (and its best mark, written after it).
    await stack.redis.hdel(indexKey(job.id), `e:${EPOCH}`);
    if ((await stack.redis.hget(indexKey(job.id), 'best')) === String(EPOCH)) await stack.redis.hdel(indexKey(job.id), 'best');

    await stack.startWorker('worker-1');
    const done = await waitForStatus(stack.api, job.id, ['completed'], (await stalledRecoveryMs()) + 180_000);
    expect(done.reason).toBe('max_epochs');
    const all = await allMetrics(stack.api, job.id);
    expect(all.map((r) => r.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    const list = await stack.api.get<{ items: { epoch: number }[] }>(`/v1/jobs/${job.id}/checkpoints`);
    expect(list.body.items.map((c) => c.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    const restarted = done.history.filter((h) => h.status === 'running').at(-1);
    expect(restarted?.reason).toBe(`restarted from epoch 0 (the checkpoint index lost epochs ${EPOCH})`);
    await expectSameAsUninterrupted(stack, done, all);

    // The replayed epochs 1 and 2 wrote no checkpoint and no best again: each best epoch was
    // announced once, in increasing order, the last one the job's best.
    const bests = () => [...receiver.requests].filter((r) => r.status === 204).map((r) => (r.body.data.best as { epoch: number }).epoch);
    await waitFor(async () => bests().at(-1) === (done.best as { epoch: number }).epoch, { timeoutMs: 20_000, what: 'the last job.checkpoint event' });
    const announced = [...new Map(receiver.requests.filter((r) => r.status === 204).map((r) => [r.webhookId, (r.body.data.best as { epoch: number }).epoch])).values()];
    expect(announced).toEqual([...new Set(announced)].sort((a, b) => a - b));
    await receiver.close();
  });
});
