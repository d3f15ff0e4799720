// Property: an SSE client racing the writer (catch-up, then the live feed; with or without
// Last-Event-ID) gets every entry after its start exactly once, in order, then the stream ends.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEpoch, transitionJob } from '../../src/store/jobs.js';
import { appFixture, type AppFixture } from '../api/helpers.js';
import { followEvents, type FollowResult } from '../helpers/sse.js';
import { sleep } from '../helpers/wait.js';

let f: AppFixture;
let baseUrl: string;

beforeAll(async () => {
  f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '100000', RATE_LIMIT_MAX: '10000000' });
  baseUrl = await f.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await f?.close();
});

const scenario = fc.record({
  batches: fc.array(fc.record({ n: fc.integer({ min: 1, max: 5 }), pauseMs: fc.integer({ min: 0, max: 15 }) }), { minLength: 1, maxLength: 10 }),
  clients: fc.array(fc.record({ at: fc.nat(), resumeFrom: fc.option(fc.nat(), { nil: null }) }), { minLength: 1, maxLength: 4 }),
  /** A client that comes back after the job ended, resuming from some id. */
  late: fc.option(fc.nat(), { nil: null }),
});

describe('SSE clients racing the writer', () => {
  it('each receive every entry after their start exactly once, in order, then the stream ends', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ batches, clients, late }) => {
        const created = await f.app.inject({
          method: 'POST',
          url: '/v1/jobs',
          payload: { dataset: { builtin: 'xor' }, model: { layers: [{ type: 'dense', units: 2 }] }, loss: 'softmax_cross_entropy', epochs: 100_000 },
        });
        const id = created.json<{ id: string }>().id;
        const key = f.store.keys.stream(id);
        const ids = async () => ((await f.redis.xrange(key, '-', '+')) as [string, string[]][]).map(([sid]) => sid);
        await transitionJob(f.store, id, 'running', { attempt: 1 });

        const watching: { from: string | null; result: Promise<FollowResult> }[] = [];
        let epoch = 0;
        for (const [i, batch] of batches.entries()) {
          for (const c of clients.filter((c) => c.at % batches.length === i)) {
            const soFar = await ids();
            const from = c.resumeFrom === null ? null : (soFar[c.resumeFrom % soFar.length] ?? null);
            watching.push({ from, result: followEvents(baseUrl, id, { timeoutMs: 15_000, ...(from === null ? {} : { lastEventId: from }) }) });
          }
          for (let k = 0; k < batch.n; k++) {
            epoch += 1;
            await recordEpoch(f.store, id, { epoch, step: epoch, loss: 1, lr: 0.1, seconds: 0.01, samplesPerSec: 1, attempt: 1 } as never, 100_000);
          }
          await sleep(batch.pauseMs);
        }
        await transitionJob(f.store, id, 'completed', { attempt: 1, reason: 'max_epochs' });

        const all = await ids();
        if (late !== null) {
          const from = all[late % all.length] as string;
          if (from === all.at(-1)) {
            // Nothing left to send: 204, which tells an EventSource to stop reconnecting.
            const res = await fetch(`${baseUrl}/v1/jobs/${id}/events`, { headers: { 'last-event-id': from }, signal: AbortSignal.timeout(5000) });
            expect(res.status).toBe(204);
            expect(await res.text()).toBe('');
          } else {
            watching.push({ from, result: followEvents(baseUrl, id, { timeoutMs: 15_000, lastEventId: from }) });
          }
        }
        for (const w of watching) {
          const got = await w.result;
          expect(got.connections, 'the stream never dropped').toBe(1);
          const expected = w.from === null ? all : all.slice(all.indexOf(w.from) + 1);
          expect(got.events.map((e) => e.id)).toEqual(expected);
          if (expected.length > 0) expect(got.events.at(-1)?.data.status).toBe('completed');
        }
      }),
      { numRuns: 50 },
    );
  });
});
