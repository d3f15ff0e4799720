// Fault: one job's worker is SIGKILLed again and again, at different points of an epoch and right
// as an epoch's record lands (before its resume state is written); polling and SSE clients still
// see every epoch exactly once, in order, and the run ends bit-identical to an uninterrupted one.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMetrics, getJob, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { stalledRecoveryMs } from '../helpers/processes.js';
import { followEvents } from '../helpers/sse.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { expectSameAsUninterrupted } from './compare.js';
import { slowSpec } from './specs.js';

const EPOCHS = 9;

/**
 * Where each kill lands: a fraction of an epoch after the latest record, or 'on-record' = the
 * moment the next metrics entry appears in the stream (the trainer is then writing that epoch's
 * resume state, or has just started the next epoch).
 */
const KILL_POINTS: (number | 'on-record')[] = ['on-record', 0.2, 'on-record', 0.7, 'on-record', 0.45];

let stack: ProcessStack;

beforeAll(async () => {
  // Every kill is a restart: allow more of them than the default MAX_RESTARTS.
  stack = await startProcessStack({ tag: 'once', env: { MAX_RESTARTS: String(KILL_POINTS.length + 2) } });
});

afterAll(async () => {
  await stack?.dispose();
});

/** Resolves as soon as a metrics entry newer than `after` is in the job's stream (blocking read). */
async function nextMetricsEntry(reader: Redis, streamKey: string, after: string): Promise<void> {
  let cursor = after;
  for (;;) {
    const res = (await reader.xread('COUNT', 10, 'BLOCK', 30_000, 'STREAMS', streamKey, cursor)) as [string, [string, string[]][]][] | null;
    if (res === null) throw new Error('no metrics entry within 30 s');
    for (const [id, fields] of res[0]?.[1] ?? []) {
      cursor = id;
      if (fields[1] === 'metrics') return;
    }
  }
}

describe('worker SIGKILLed at many points of a job', () => {
  it('every epoch is seen exactly once by polling and SSE, and the run is bit-identical', { timeout: 300_000 }, async () => {
    const streamKey = (id: string) => `${stack.prefix}:job:${id}:stream`;
    const reader = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    try {
      let worker = await stack.startWorker('worker-0');
      const job = await submitJob(stack.api, slowSpec(EPOCHS));
      const watcher = followEvents(stack.api.baseUrl, job.id, { timeoutMs: 280_000 });
      const recovery = await stalledRecoveryMs();

      for (const [i, point] of KILL_POINTS.entries()) {
        await worker.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, recovery + 20_000, `worker-${i} to take the job`);
        const now = await waitForEpoch(stack.api, job.id, Math.min(i + 1, EPOCHS - 2), 60_000);
        if (point === 'on-record') {
          const [last] = ((await reader.xrevrange(streamKey(job.id), '+', '-', 'COUNT', 1)) as [string, string[]][])[0] ?? ['0-0'];
          await nextMetricsEntry(reader, streamKey(job.id), last);
        } else {
          await sleep(Math.round((now.latest?.seconds ?? 0.4) * 1000 * point));
        }
        worker.kill('SIGKILL');
        await worker.exited;
        const current = await getJob(stack.api, job.id);
        if (current.status !== 'running' && current.status !== 'queued') break;
        worker = await stack.startWorker(`worker-${i + 1}`);
      }

      const done = await waitForStatus(stack.api, job.id, ['completed'], 120_000);
      expect(done.reason).toBe('max_epochs');
      const attempts = new Set(done.history.filter((h) => h.status === 'running').map((h) => h.attempt));
      expect(attempts.size).toBeGreaterThanOrEqual(3);

      // Polling: each epoch once, in order, no gap.
      const records = await allMetrics(stack.api, job.id);
      expect(records.map((r) => r.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));

      // SSE (one client for the whole run): the same, and exactly the stream's entries.
      const seen = await watcher;
      const epochs = seen.events.filter((e) => e.event === 'metrics').map((e) => e.data.epoch);
      expect(epochs).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
      const raw = (await stack.redis.xrange(streamKey(job.id), '-', '+')) as [string, string[]][];
      expect(seen.events.map((e) => e.id)).toEqual(raw.map(([id]) => id));

      await expectSameAsUninterrupted(stack, done, records);
    } finally {
      reader.disconnect();
    }
  });
});
