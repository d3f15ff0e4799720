// Webhooks end to end with real processes: a job's events reach a real receiver on loopback that
// verifies every signature with the standardwebhooks library; a receiver that fails and recovers
// gets every event, under the same webhook-id on every retry; rotation re-signs retries.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { waitFor } from '../helpers/wait.js';
import { api, startStack, waitForJob, type Stack } from './stack.js';
import { xorSpec } from '../api/helpers.js';

const ALL_EVENTS = ['job.queued', 'job.running', 'job.completed', 'job.failed', 'job.cancelled', 'job.checkpoint'];

const spec = xorSpec({ epochs: 4, seed: 3 });

interface DeliveryView {
  id: string;
  type: string;
  jobId: string | null;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastResponse: string | null;
  nextRetryAt: string | null;
}

/** Orders event ids evt_<ms>-<seq> as the outbox wrote them. */
function byEventId(a: string, b: string): number {
  const [am = 0, as = 0] = a.slice(4).split('-').map(Number);
  const [bm = 0, bs = 0] = b.slice(4).split('-').map(Number);
  return am - bm || as - bs;
}

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack({ workers: 1, env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '150', WEBHOOK_MAX_ATTEMPTS: '8', WEBHOOK_TIMEOUT_MS: '2000' } });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  // Webhooks of one test must not receive the next test's events.
  const list = await api<{ items: { id: string }[] }>(stack, 'GET', '/v1/webhooks');
  for (const w of list.body.items) await api(stack, 'DELETE', `/v1/webhooks/${w.id}`);
  await receiver.close();
});

async function register(events?: string[]): Promise<{ id: string; secret: string }> {
  const res = await api<{ id: string; secret: string }>(stack, 'POST', '/v1/webhooks', { url: receiver.url, ...(events ? { events } : {}) });
  expect(res.status).toBe(201);
  receiver.secret = res.body.secret;
  return res.body;
}

async function deliveries(webhookId: string): Promise<DeliveryView[]> {
  return (await api<{ items: DeliveryView[] }>(stack, 'GET', `/v1/webhooks/${webhookId}/deliveries`)).body.items;
}

describe('webhook delivery', () => {
  it("delivers a job's events, signed, with the job as GET /v1/jobs/:id shows it", async () => {
    const hook = await register(ALL_EVENTS);
    const job = (await api<{ id: string }>(stack, 'POST', '/v1/jobs', spec)).body;
    await waitForJob(stack, job.id, (j) => j.status === 'completed');
    const done = await waitFor(() => [...receiver.delivered().values()].find((r) => r.type === 'job.completed'), { timeoutMs: 20_000, what: 'job.completed delivered' });

    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    // Deliveries run concurrently: put them in event order (ids are the outbox's stream ids).
    const inOrder = [...receiver.requests].sort((a, b) => byEventId(a.webhookId, b.webhookId));
    const types = inOrder.map((r) => r.type);
    expect(types[0]).toBe('job.queued');
    expect(types[1]).toBe('job.running');
    expect(types.at(-1)).toBe('job.completed');
    expect(types.filter((t) => t === 'job.checkpoint').length).toBeGreaterThanOrEqual(1);
    expect(types.filter((t) => t !== 'job.checkpoint')).toEqual(['job.queued', 'job.running', 'job.completed']);
    expect(new Set(receiver.requests.map((r) => r.webhookId)).size).toBe(receiver.requests.length);

    const got = (await api<Record<string, unknown>>(stack, 'GET', `/v1/jobs/${job.id}`)).body;
    expect(done.body.data).toEqual(got);
    expect(Date.parse(done.body.timestamp)).toBe(Date.parse(got.finishedAt as string));
    const queued = inOrder[0]!.body.data;
    expect(queued.status).toBe('queued');
    expect(queued.id).toBe(job.id);
    const checkpoint = receiver.requests.find((r) => r.type === 'job.checkpoint')!.body.data;
    expect(checkpoint.best).not.toBeNull();

    const log = await deliveries(hook.id);
    expect(log.map((d) => d.id)).toEqual(inOrder.map((r) => r.webhookId).reverse());
    for (const d of log) {
      expect(d).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 204, lastError: null, nextRetryAt: null, jobId: job.id });
    }
  });

  it('only the subscribed events, and a ping to one webhook', async () => {
    const hook = await register();
    const ping = await api<{ eventId: string }>(stack, 'POST', `/v1/webhooks/${hook.id}/ping`);
    expect(ping.status).toBe(202);
    const job = (await api<{ id: string }>(stack, 'POST', '/v1/jobs', spec)).body;
    await waitForJob(stack, job.id, (j) => j.status === 'completed');
    await waitFor(() => receiver.delivered().size === 2, { timeoutMs: 20_000, what: 'ping and job.completed' });
    expect([...receiver.requests].sort((a, b) => byEventId(a.webhookId, b.webhookId)).map((r) => [r.type, r.webhookId])).toEqual([
      ['webhook.ping', ping.body.eventId],
      ['job.completed', expect.stringMatching(/^evt_/)],
    ]);
    expect(receiver.requests.find((r) => r.type === 'webhook.ping')!.body.data).toEqual({ webhookId: hook.id });
  });

  it('a receiver that fails, then recovers, gets every event; retries keep their webhook-id', async () => {
    const hook = await register(['job.queued', 'job.running', 'job.completed']);
    let down = true;
    receiver.respond = () => (down ? 500 : 200);
    const job = (await api<{ id: string }>(stack, 'POST', '/v1/jobs', spec)).body;
    await waitForJob(stack, job.id, (j) => j.status === 'completed');
    // Every event has failed at least twice before the receiver comes back.
    await waitFor(() => ['job.queued', 'job.running', 'job.completed'].every((t) => receiver.requests.filter((r) => r.type === t).length >= 2), {
      timeoutMs: 20_000,
      what: 'two failed attempts of each event',
    });
    const failing = await deliveries(hook.id);
    expect(failing.find((d) => d.type === 'job.completed')).toMatchObject({ status: 'pending', lastStatusCode: 500, lastError: 'HTTP 500', lastResponse: 'no thanks (500)' });
    expect(failing.every((d) => d.nextRetryAt !== null && d.attempts >= 2)).toBe(true);
    down = false;
    await waitFor(() => receiver.delivered().size === 3, { timeoutMs: 20_000, what: 'all three events after recovery' });

    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    const byId = new Map<string, string[]>();
    for (const r of receiver.requests) byId.set(r.webhookId, [...(byId.get(r.webhookId) ?? []), r.type]);
    expect(byId.size).toBe(3);
    for (const types of byId.values()) {
      expect(types.length).toBeGreaterThanOrEqual(3);
      expect(new Set(types).size).toBe(1);
    }
    const log = await waitFor(async () => {
      const l = await deliveries(hook.id);
      return l.every((d) => d.status === 'succeeded') ? l : null;
    }, { timeoutMs: 5000, what: 'the log to show success' });
    for (const d of log) {
      expect(d.lastStatusCode).toBe(200);
      expect(d.attempts).toBe(byId.get(d.id)?.length);
    }
  });

  it('a cancelled job: job.cancelled with the cancelled job', async () => {
    await register(['job.cancelled', 'job.failed']);
    const job = (await api<{ id: string }>(stack, 'POST', '/v1/jobs', { ...spec, epochs: 100_000 })).body;
    expect((await api(stack, 'POST', `/v1/jobs/${job.id}/cancel`)).status).toBe(202);
    await waitForJob(stack, job.id, (j) => j.status === 'cancelled');
    const got = await waitFor(() => [...receiver.delivered().values()].find((r) => r.type === 'job.cancelled'), { timeoutMs: 20_000, what: 'job.cancelled delivered' });
    expect(got.verified).toBe(true);
    expect(got.body.data).toMatchObject({ id: job.id, status: 'cancelled', reason: 'cancelled_by_user' });
    expect(receiver.requests.map((r) => r.type)).toEqual(['job.cancelled']);
  });

  it('a rotated secret signs the retries of earlier events', async () => {
    const hook = await register(['job.queued']);
    let down = true;
    receiver.respond = () => (down ? 503 : 200);
    const job = (await api<{ id: string }>(stack, 'POST', '/v1/jobs', spec)).body;
    await waitFor(() => receiver.requests.length >= 1, { timeoutMs: 10_000, what: 'a first attempt' });
    const rotated = await api<{ secret: string }>(stack, 'POST', `/v1/webhooks/${hook.id}/rotate-secret`);
    receiver.secret = rotated.body.secret;
    down = false;
    const got = await waitFor(() => receiver.delivered().get(receiver.requests[0]!.webhookId), { timeoutMs: 10_000, what: 'delivery under the new secret' });
    expect(got.verified).toBe(true);
    expect(got.body.data.id).toBe(job.id);
    await waitForJob(stack, job.id, (j) => j.status === 'completed');
  });
});
