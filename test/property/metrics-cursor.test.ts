// Property: polling GET /v1/jobs/:id/metrics with its cursor never misses or repeats a record,
// whatever appends, restarts and status events interleave with the polls (real app, real Redis).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEpoch, transitionJob } from '../../src/store/jobs.js';
import { appFixture, type AppFixture } from '../api/helpers.js';

type Op = { kind: 'append'; n: number } | { kind: 'restart' } | { kind: 'poll'; limit: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('poll' as const), limit: fc.integer({ min: 1, max: 10 }) }) },
);

let f: AppFixture;

beforeAll(async () => {
  f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '100000', RATE_LIMIT_MAX: '10000000' });
});

afterAll(async () => {
  await f?.close();
});

interface Page {
  items: { epoch: number; attempt: number }[];
  nextCursor: string | null;
}

describe('metrics polling with a cursor', () => {
  it('never skips or repeats a record, whatever interleaves with it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), fc.boolean(), async (ops, concurrent) => {
        const created = await f.app.inject({
          method: 'POST',
          url: '/v1/jobs',
          payload: { dataset: { builtin: 'xor' }, model: { layers: [{ type: 'dense', units: 2 }] }, loss: 'softmax_cross_entropy', epochs: 100_000 },
        });
        expect(created.statusCode).toBe(201);
        const id = created.json<{ id: string }>().id;
        let attempt = 1;
        let epoch = 0;
        let recorded = 0;
        const written: string[] = [];
        const seen: string[] = [];
        let cursor: string | null = null;
        await transitionJob(f.store, id, 'running', { attempt });

        const append = async (n: number) => {
          for (let i = 0; i < n; i++) {
            epoch += 1;
            const res = await recordEpoch(f.store, id, { epoch, step: epoch * 10, loss: 1 / epoch, lr: 0.01, seconds: 0.1, samplesPerSec: 100, attempt } as never, 100_000);
            // An epoch redone after a restart is already recorded: clients see it once.
            if (epoch <= recorded) {
              expect(res).toEqual({ ok: false, why: 'duplicate' });
              continue;
            }
            expect(res.ok).toBe(true);
            recorded = epoch;
            written.push(`${attempt}:${epoch}`);
          }
        };
        const poll = async (limit: number) => {
          const q: string = cursor === null ? `limit=${limit}` : `limit=${limit}&after=${cursor}`;
          const res = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/metrics?${q}` });
          expect(res.statusCode, res.body).toBe(200);
          const page = res.json<Page>();
          expect(page.items.length).toBeLessThanOrEqual(limit);
          seen.push(...page.items.map((m) => `${m.attempt}:${m.epoch}`));
          cursor = page.nextCursor ?? cursor;
        };

        for (const o of ops) {
          if (o.kind === 'append') {
            // Concurrently with a poll, or before it.
            if (concurrent) await Promise.all([append(o.n), poll(3)]);
            else await append(o.n);
          } else if (o.kind === 'restart') {
            // A restart: a status event in the stream, and the epoch being redone under a new attempt.
            attempt += 1;
            expect((await transitionJob(f.store, id, 'running', { attempt, reason: 'resumed from resume state' })).ok).toBe(true);
            epoch = Math.max(0, epoch - 1);
          } else {
            await poll(o.limit);
          }
        }
        // Drain.
        for (let i = 0; i < 1000; i++) {
          const before = seen.length;
          await poll(10);
          if (seen.length === before) break;
        }
        expect(seen).toEqual(written);
      }),
      { numRuns: 100 },
    );
  });
});
