// The typed client against a real API and worker process: upload, submit with defaults left out,
// follow events (also across dropped connections), wait, and typed errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTraindClient, TraindError, type JobEvent } from '../../src/client/index.js';
import { circleCsv } from '../helpers/datasets.js';
import { startStack, type Stack } from '../integration/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});

afterAll(async () => {
  await stack?.stop();
});

/** A fetch whose event streams are cut after `cutAfter` bytes of each response: a flaky network. */
function flakyFetch(cutAfter: number, connections: string[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const url = String(input instanceof Request ? input.url : input);
    if (!url.endsWith('/events') || res.body === null || res.status !== 200) return res;
    connections.push(new Headers(init?.headers).get('last-event-id') ?? '(none)');
    const reader = res.body.getReader();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        if (sent + value.byteLength > cutAfter) {
          controller.enqueue(value.subarray(0, Math.max(0, cutAfter - sent)));
          await reader.cancel();
          controller.error(new Error('connection reset (test)'));
          return;
        }
        sent += value.byteLength;
        controller.enqueue(value);
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

describe('typed client', () => {
  it('uploads CSV, submits a spec without its defaults, follows every event, waits for the end', async () => {
    const client = createTraindClient({ baseUrl: stack.baseUrl });
    const dataset = await client.uploadDataset(circleCsv(200), 'csv', { name: 'circle' });
    expect(dataset.id).toMatch(/^ds_/);
    expect(dataset.rows).toBe(200);

    const job = await client.submitJob({
      dataset: dataset.id,
      model: { layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      epochs: 5,
      seed: 1,
    });
    expect(job.status).toBe('queued');
    expect(job.spec.batchSize).toBe(32); // the resolved spec comes back with its defaults

    const events: JobEvent[] = [];
    for await (const e of client.followJob(job.id)) events.push(e);
    const epochs = events.filter((e) => e.event === 'metrics').map((e) => (e.data as { epoch: number }).epoch);
    expect(epochs).toEqual([1, 2, 3, 4, 5]);
    expect(events.at(-1)?.event).toBe('status');
    expect((events.at(-1)?.data as { status: string }).status).toBe('completed');

    const done = await client.waitForJob(job.id, { timeoutMs: 10_000, intervalMs: 100 });
    expect(done.status).toBe('completed');
    expect(done.reason).toBe('max_epochs');
  });

  it('reconnects with Last-Event-ID when the stream drops, missing and repeating nothing', async () => {
    const connections: string[] = [];
    const client = createTraindClient({ baseUrl: stack.baseUrl, fetch: flakyFetch(700, connections) });
    const plain = createTraindClient({ baseUrl: stack.baseUrl });
    const job = await plain.submitJob({
      dataset: { builtin: 'xor' },
      model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      epochs: 12,
      seed: 2,
    });
    const events: JobEvent[] = [];
    for await (const e of client.followJob(job.id, { reconnectDelayMs: 10 })) events.push(e);
    expect(connections.length).toBeGreaterThan(1);
    // Stored events have ids of their own (a progress event, if any, repeats the last one).
    const ids = events.filter((e) => e.event !== 'progress').map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const epochs = events.flatMap((e) => (e.event === 'metrics' ? [e.data.epoch] : []));
    expect(epochs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    // Every reconnect after the first resumed from the last event received.
    expect(connections.slice(1).every((c) => ids.includes(c))).toBe(true);
  });

  it('waits for a dataset the server answered 202 for; a failed one is TraindError 400 naming line and column', async () => {
    const client = createTraindClient({ baseUrl: stack.baseUrl });
    const pending = await client.uploadDataset(circleCsv(50), 'csv', { wait: 0 });
    expect(pending.status).toBe('processing');
    const ready = await client.waitForDataset(pending.id, { timeoutMs: 20_000 });
    expect(ready).toMatchObject({ id: pending.id, status: 'ready', rows: 50, features: 2 });
    const bad = await client.uploadDataset('x,y,label\n0,0,0\n1,oops,1\n', 'csv', { wait: 0 });
    const err = await client.waitForDataset(bad.id, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraindError);
    expect((err as TraindError).status).toBe(400);
    expect((err as TraindError).body?.error.details).toMatchObject({ path: 'line.3.y' });
  });

  it('turns error answers into TraindError with the API error code', async () => {
    const client = createTraindClient({ baseUrl: stack.baseUrl });
    const missing = await client.getJob('job_00000000000000000000000000').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TraindError);
    expect((missing as TraindError).status).toBe(404);
    expect((missing as TraindError).body?.error.code).toBe('not_found');
    const bad = await client.submitJob({ dataset: { builtin: 'xor' }, model: { layers: [] }, loss: 'mse' } as never).catch((e: unknown) => e);
    expect((bad as TraindError).status).toBe(400);
    expect((bad as TraindError).body?.error.code).toBe('invalid_request');
    expect((bad as TraindError).message).toContain('model.layers');
  });
});
