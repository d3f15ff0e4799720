// /v1/jobs over app.inject with a real Redis and BullMQ queue (no worker: worker effects are
// simulated through the store): submit, bad specs, idempotency, pagination, cancel, limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob, transitionJob } from '../../src/store/jobs.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

describe('/v1/jobs', () => {
  let f: AppFixture;
  beforeAll(async () => {
    f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '1000' });
  });
  afterAll(async () => {
    await f.close();
  });

  const submit = (body: unknown, headers: Record<string, string> = {}) => f.app.inject({ method: 'POST', url: '/v1/jobs', payload: body as object, headers });

  it('submits a job: 201, queued, spec resolved, in the BullMQ queue', async () => {
    const res = await submit(xorSpec({ name: 'xor-mlp' }));
    expect(res.statusCode).toBe(201);
    const job = res.json();
    expect(job).toMatchObject({ status: 'queued', name: 'xor-mlp', progress: { epoch: 0, epochs: 5 }, reason: null });
    expect(job.id).toMatch(/^job_/);
    expect(res.headers.location).toBe(`/v1/jobs/${job.id}`);
    expect(typeof job.spec.seed).toBe('number');
    expect(job.spec.learningRate).toBe(0.05);
    expect(job.history).toEqual([{ status: 'queued', at: job.createdAt, attempt: 0 }]);
    expect(typeof job.queuePosition).toBe('number');
    const bull = await f.queue.getJob(job.id);
    expect(bull?.data).toEqual({ jobId: job.id, tenant: 'default', memoryBytes: job.memoryEstimate.bytes });
    const got = await f.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json().spec).toEqual(job.spec);
  });

  describe('bad specs: one 400 per kind of mistake, naming the path', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['unknown field', xorSpec({ learning_rate: 0.1 }), 'learning_rate'],
      ['wrong type', xorSpec({ epochs: 'ten' }), 'epochs'],
      ['out of range', xorSpec({ epochs: 1e9 }), 'epochs'],
      ['out of range (nested)', xorSpec({ optimizer: { type: 'adam', beta1: 1.5 } }), 'optimizer.beta1'],
      ['incompatible loss/output', xorSpec({ model: { layers: [{ type: 'dense', units: 1 }] } }), 'model.layers.0.units'],
      ['output units vs classes', xorSpec({ model: { layers: [{ type: 'dense', units: 3 }] } }), 'model.layers.0.units'],
      ['batch larger than the data with dropLast', xorSpec({ batchSize: 1000, dropLast: true }), 'batchSize'],
      ['unknown dataset', xorSpec({ dataset: 'ds_01JD0000000000000000000000' }), 'dataset'],
      ['unknown builtin', xorSpec({ dataset: { builtin: 'mnist-nope' } }), 'dataset'],
    ];
    for (const [name, body, path] of cases) {
      it(name, async () => {
        const res = await submit(body);
        expect(res.statusCode).toBe(400);
        const err = errorOf(res.body);
        expect(['invalid_request', 'invalid_spec']).toContain(err.code);
        expect(err.details.path).toBe(path);
        expect(err.details.issues!.map((i) => i.path)).toContain(path);
      });
    }

    it('a number too large for a double (1e400 parses as Infinity) is out of range', async () => {
      const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: JSON.stringify(xorSpec()).replace('"learningRate":0.05', '"learningRate":1e400'), headers: { 'content-type': 'application/json' } });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.body).details.path).toBe('learningRate');
    });

    it('malformed JSON and a non-object body are 400 too', async () => {
      const bad = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: '{"epochs": ', headers: { 'content-type': 'application/json' } });
      expect(bad.statusCode).toBe(400);
      expect(errorOf(bad.body).code).toBe('invalid_json');
      const arr = await submit([1, 2]);
      expect(arr.statusCode).toBe(400);
    });

    it('a "__proto__" or "constructor.prototype" key is refused by name, not called invalid JSON', async () => {
      const post = (payload: string) => f.app.inject({ method: 'POST', url: '/v1/jobs', payload, headers: { 'content-type': 'application/json' } });
      for (const [payload, path] of [
        ['{"__proto__": {"epochs": 1}, "dataset": {"builtin": "xor"}}', '__proto__'],
        ['{"model": {"layers": [{"\\u005f_proto__": {}}]}}', 'model.layers.0.__proto__'],
        ['{"name": "a", "constructor": {"prototype": {"x": 1}}}', 'constructor.prototype'],
      ] as const) {
        const res = await post(payload);
        expect(res.statusCode, payload).toBe(400);
        const err = errorOf(res.body);
        expect(err.code, payload).toBe('invalid_request');
        expect(err.details.path, payload).toBe(path);
        expect(err.message, payload).toContain(`the key ${path} is refused`);
      }
      // Ordinary JSON mistakes still say what the parser saw.
      const bad = await post('{"epochs": 3,}');
      expect(errorOf(bad.body).message).toMatch(/^the body is not valid JSON: .*position/);
    });
  });

  it('a job record damaged in Redis is a 500 job_record_corrupt naming the field, not a job with an empty spec', async () => {
    const id = (await submit(xorSpec())).json().id as string;
    await f.redis.hset(f.store.keys.job(id), 'spec', '{"dataset": {"builtin"');
    for (const url of [`/v1/jobs/${id}`, '/v1/jobs?limit=100']) {
      const res = await f.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(500);
      const err = errorOf(res.body);
      expect(err.code, url).toBe('job_record_corrupt');
      expect(err.message, url).toContain(`the stored record of ${id} is corrupt: field "spec" is not valid JSON`);
    }
    await f.redis.hset(f.store.keys.job(id), 'spec', JSON.stringify(xorSpec()), 'status', 'exploded');
    expect(errorOf((await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).body).message).toContain('field "status" is "exploded", not a job status');
    // Another tenant does not learn that the damaged job exists.
    expect(await getJob(f.store, id, 'someone-else')).toBeNull();
    await f.redis.del(f.store.keys.job(id));
  });

  it('Idempotency-Key: a retry returns the same job (200); a different body is 409', async () => {
    const key = `k-${Date.now()}`;
    const first = await submit(xorSpec(), { 'idempotency-key': key });
    expect(first.statusCode).toBe(201);
    const again = await submit(xorSpec(), { 'idempotency-key': key });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const other = await submit(xorSpec({ epochs: 6 }), { 'idempotency-key': key });
    expect(other.statusCode).toBe(409);
    expect(errorOf(other.body).code).toBe('idempotency_conflict');
  });

  it('Idempotency-Key: concurrent submissions make one job', async () => {
    const key = `race-${Date.now()}`;
    const all = await Promise.all(Array.from({ length: 6 }, () => submit(xorSpec({ epochs: 7 }), { 'idempotency-key': key })));
    expect(new Set(all.map((r) => r.json().id)).size).toBe(1);
    expect(all.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 201]);
  });

  it('lists newest first with cursor pagination that never skips or repeats', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit(xorSpec())).json().id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await f.app.inject({ method: 'GET', url: `/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.statusCode).toBe(200);
      const page = res.json() as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 5)).toEqual([...ids].reverse());
    await transitionJob(f.store, ids[1]!, 'running', { attempt: 1 });
    const running = (await f.app.inject({ method: 'GET', url: '/v1/jobs?status=running' })).json();
    expect(running.items.map((j: { id: string }) => j.id)).toEqual([ids[1]]);
    expect((await f.app.inject({ method: 'GET', url: '/v1/jobs?status=nope' })).statusCode).toBe(400);
  });

  it('cancels a queued job at once (202) and removes it from the queue; cancelling again is 409', async () => {
    const id = (await submit(xorSpec())).json().id;
    const res = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel` });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'cancelled', reason: 'cancelled_by_user' });
    expect(await f.queue.getJob(id)).toBeUndefined();
    const again = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again.body).code).toBe('job_finished');
  });

  it('cancelling a running job sets the flag (the worker ends it) and answers 202', async () => {
    const id = (await submit(xorSpec())).json().id;
    await transitionJob(f.store, id, 'running', { attempt: 1 });
    const res = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel` });
    expect(res.statusCode).toBe(202);
    expect(res.json().status).toBe('running');
    expect(await f.redis.exists(f.store.keys.cancel(id))).toBe(1);
  });

  it('cancelling a completed job is 409', async () => {
    const id = (await submit(xorSpec())).json().id;
    await transitionJob(f.store, id, 'running', { attempt: 1 });
    await transitionJob(f.store, id, 'completed', { reason: 'max_epochs' });
    const res = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel` });
    expect(res.statusCode).toBe(409);
    expect((await getJob(f.store, id))!.status).toBe('completed');
  });

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v1/jobs/job_01JD0000000000000000000000' })).statusCode).toBe(404);
    const bad = await f.app.inject({ method: 'GET', url: '/v1/jobs/..%2F..%2Fetc%2Fpasswd' });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad.body).details.path).toBe('id');
  });
});

describe('/v1/jobs limits', () => {
  let f: AppFixture;
  beforeAll(async () => {
    f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '2', MAX_MODEL_PARAMS: '1000', JSON_BODY_LIMIT_BYTES: '4096' });
  });
  afterAll(async () => {
    await f.close();
  });

  it('refuses a third queued job for the tenant with 429', async () => {
    for (let i = 0; i < 2; i++) expect((await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() })).statusCode).toBe(201);
    const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() });
    expect(res.statusCode).toBe(429);
    expect(errorOf(res.body).code).toBe('too_many_queued_jobs');
  });

  it('refuses a model over the parameter limit, naming model.layers', async () => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ model: { layers: [{ type: 'dense', units: 512 }, { type: 'dense', units: 2 }] } }) });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res.body).details.path).toBe('model.layers');
  });

  it('answers 413 in the error format for a body over the limit', async () => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ name: 'x'.repeat(5000) }) });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res.body).code).toBe('payload_too_large');
  });
});

describe('queue position and priority', () => {
  let f: AppFixture;
  beforeAll(async () => {
    f = await appFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('reports each queued job\'s place, FIFO within a priority and higher priorities first', async () => {
    const submit = async (extra: Record<string, unknown> = {}) => (await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec(extra) })).json().id as string;
    const a = await submit();
    const b = await submit();
    const urgent = await submit({ priority: 90 });
    const low = await submit({ priority: 5 });
    const position = async (id: string) => (await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json().queuePosition;
    expect([await position(urgent), await position(a), await position(b), await position(low)]).toEqual([0, 1, 2, 3]);
    await f.app.inject({ method: 'POST', url: `/v1/jobs/${a}/cancel` });
    expect(await position(b)).toBe(1);
    expect(await position(a)).toBeNull();
  });
});
