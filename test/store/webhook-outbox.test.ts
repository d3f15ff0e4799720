// The webhook outbox against a real Redis: the job scripts append an event in the same step as
// the change (creation, each transition, a new best epoch), only for tenants with a webhook, with
// the record as it was at that moment; a no-op transition or an unchanged best adds nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presentJob } from '../../src/api/present.js';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { newJobId, newWebhookId } from '../../src/store/ids.js';
import { createJob, getJob, setBestMetrics, transitionJob, type MetricsRecord } from '../../src/store/jobs.js';
import { createWebhook, DEFAULT_WEBHOOK_EVENTS, newWebhookSecret } from '../../src/store/webhooks.js';
import { fieldsOf, outboxEvent } from '../../src/webhooks/event-body.js';
import { storeFixture, type StoreFixture } from '../api/helpers.js';

const spec = JobSpecSchema.parse({ dataset: { builtin: 'xor' }, model: { layers: [{ type: 'dense', units: 1 }] }, loss: 'mse', epochs: 3 });

function metrics(epoch: number): MetricsRecord {
  return { epoch, step: epoch * 10, loss: 1 / epoch, lr: 0.1, seconds: 0.1, samplesPerSec: 100, attempt: 1 };
}

describe('webhook outbox', () => {
  let f: StoreFixture;
  beforeAll(async () => {
    f = await storeFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  const outbox = async () => {
    const entries = (await f.redis.xrange(f.store.keys.webhookEvents(), '-', '+')) as [string, string[]][];
    return entries.map(([, flat]) => outboxEvent(fieldsOf(flat))!);
  };
  const create = async (tenant: string) => {
    const r = await createJob(f.store, { id: newJobId(), tenant, spec, priority: 50, datasetId: null, bodyHash: 'h', idempotencyKey: null });
    if (r.kind !== 'created') throw new Error('not created');
    return r.job.id;
  };

  it("records every change of a tenant with a webhook, with the job as it was; nothing for other tenants' jobs", async () => {
    const quiet = await create('no-hooks');
    await transitionJob(f.store, quiet, 'running', { attempt: 1 });
    expect(await outbox()).toEqual([]);

    await createWebhook(f.store, { id: newWebhookId(), tenant: 'hooked', url: 'https://example.com/', events: [...DEFAULT_WEBHOOK_EVENTS], description: null, secret: newWebhookSecret(), createdAt: new Date().toISOString() });
    const id = await create('hooked');
    await transitionJob(f.store, id, 'running', { attempt: 1 });
    expect((await transitionJob(f.store, id, 'running', { attempt: 1 })).ok).toBe(false); // 'same': no event
    await setBestMetrics(f.store, id, metrics(1));
    await setBestMetrics(f.store, id, metrics(1)); // same best epoch: no event
    await setBestMetrics(f.store, id, metrics(2));
    await transitionJob(f.store, id, 'completed', { reason: 'max_epochs' });
    await transitionJob(f.store, quiet, 'completed', { reason: 'max_epochs' });

    const events = await outbox();
    expect(events.map((e) => [e.type, e.jobId, e.tenant])).toEqual([
      ['job.queued', id, 'hooked'],
      ['job.running', id, 'hooked'],
      ['job.checkpoint', id, 'hooked'],
      ['job.checkpoint', id, 'hooked'],
      ['job.completed', id, 'hooked'],
    ]);
    const bodies = events.map((e) => JSON.parse(e.body) as { type: string; timestamp: string; data: { status: string; best: MetricsRecord | null; history: unknown[] } });
    expect(bodies.map((b) => [b.data.status, b.data.best?.epoch ?? null, b.data.history.length])).toEqual([
      ['queued', null, 1],
      ['running', null, 2],
      ['running', 1, 2],
      ['running', 2, 2],
      ['completed', 2, 3],
    ]);
    const final = await getJob(f.store, id);
    expect(bodies[4]!.data).toEqual(JSON.parse(JSON.stringify(presentJob(final!, null))));
    expect(bodies[4]!.timestamp).toBe(final!.finishedAt);
    expect(bodies[0]!.timestamp).toBe(final!.createdAt);
  });
});
