// Job records against a real Redis: creation with idempotency and the queued limit, transitions
// (history + stream events, terminal is final), per-epoch records, newest-first pagination.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { newJobId } from '../../src/store/ids.js';
import { createJob, getJob, listJobs, recordEpoch, setBestMetrics, transitionJob, type MetricsRecord } from '../../src/store/jobs.js';
import { readStreamPage } from '../../src/store/stream.js';
import { storeFixture, type StoreFixture } from '../api/helpers.js';

const spec = JobSpecSchema.parse({ dataset: { builtin: 'xor' }, model: { layers: [{ type: 'dense', units: 1 }] }, loss: 'mse', epochs: 3 });

function metrics(epoch: number, attempt = 1): MetricsRecord {
  return { epoch, step: epoch * 10, loss: 1 / epoch, lr: 0.1, seconds: 0.1, samplesPerSec: 100, attempt };
}

describe('store/jobs', () => {
  let f: StoreFixture;
  beforeAll(async () => {
    f = await storeFixture({ MAX_QUEUED_JOBS_PER_TENANT: '3' });
  });
  afterAll(async () => {
    await f.close();
  });

  const create = (tenant: string, key: string | null = null, hash = 'h') =>
    createJob(f.store, { id: newJobId(), tenant, spec, priority: 50, datasetId: null, bodyHash: hash, idempotencyKey: key });

  it('creates a queued job with a history entry and a status event', async () => {
    const r = await create('t-create');
    expect(r.kind).toBe('created');
    if (r.kind !== 'created') return;
    const job = await getJob(f.store, r.job.id);
    expect(job).toMatchObject({ status: 'queued', tenant: 't-create', progress: { epoch: 0, epochs: 3 }, attempt: 0 });
    expect(job!.history).toHaveLength(1);
    const page = await readStreamPage(f.store, r.job.id, null, 10);
    expect(page.items.map((e) => [e.type, e.data.status])).toEqual([['status', 'queued']]);
  });

  it('hides another tenant\'s job', async () => {
    const r = await create('t-a');
    if (r.kind !== 'created') throw new Error('not created');
    expect(await getJob(f.store, r.job.id, 't-b')).toBeNull();
    expect(await getJob(f.store, r.job.id, 't-a')).not.toBeNull();
  });

  it('returns the existing job for a repeated idempotency key, with its body hash', async () => {
    const first = await create('t-idem', 'key1', 'hash-1');
    const again = await create('t-idem', 'key1', 'hash-2');
    expect(first.kind).toBe('created');
    expect(again).toEqual({ kind: 'exists', jobId: first.kind === 'created' ? first.job.id : '', bodyHash: 'hash-1' });
  });

  it('refuses a job over the per-tenant queued limit, and frees a slot when one starts', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await create('t-limit');
      if (r.kind === 'created') ids.push(r.job.id);
    }
    expect(ids).toHaveLength(3);
    expect((await create('t-limit')).kind).toBe('limit');
    await transitionJob(f.store, ids[0]!, 'running', { attempt: 1 });
    expect((await create('t-limit')).kind).toBe('created');
  });

  it('transitions append history and stream events; terminal states are final', async () => {
    const r = await create('t-trans');
    if (r.kind !== 'created') throw new Error('not created');
    const id = r.job.id;
    expect((await transitionJob(f.store, id, 'running', { attempt: 1, backend: 'js' })).ok).toBe(true);
    expect(await transitionJob(f.store, id, 'running', { attempt: 1 })).toEqual({ ok: false, why: 'same', status: 'running' });
    expect((await transitionJob(f.store, id, 'running', { attempt: 2, reason: 'restarted' })).ok).toBe(true);
    expect((await transitionJob(f.store, id, 'completed', { reason: 'max_epochs' })).ok).toBe(true);
    expect(await transitionJob(f.store, id, 'cancelled', { reason: 'cancelled_by_user' })).toEqual({ ok: false, why: 'terminal', status: 'completed' });
    const job = await getJob(f.store, id);
    expect(job!.history.map((h) => [h.status, h.attempt, h.reason ?? null])).toEqual([
      ['queued', 0, null],
      ['running', 1, null],
      ['running', 2, 'restarted'],
      ['completed', 2, 'max_epochs'],
    ]);
    expect(job).toMatchObject({ status: 'completed', reason: 'max_epochs', backend: 'js' });
    expect(job!.startedAt).not.toBeNull();
    expect(job!.finishedAt).not.toBeNull();
    const events = (await readStreamPage(f.store, id, null, 100)).items.map((e) => e.data.status);
    expect(events).toEqual(['queued', 'running', 'running', 'completed']);
    expect(await f.redis.ttl(f.store.keys.job(id))).toBeGreaterThan(0);
  });

  it('refuses a transition from a status not allowed', async () => {
    const r = await create('t-from');
    if (r.kind !== 'created') throw new Error('not created');
    await transitionJob(f.store, r.job.id, 'running', { attempt: 1 });
    expect(await transitionJob(f.store, r.job.id, 'cancelled', { from: ['queued'] })).toEqual({ ok: false, why: 'refused', status: 'running' });
  });

  it('records each epoch once, whatever the attempt, and keeps latest/progress/best', async () => {
    const r = await create('t-epoch');
    if (r.kind !== 'created') throw new Error('not created');
    const id = r.job.id;
    await transitionJob(f.store, id, 'running', { attempt: 1 });
    expect((await recordEpoch(f.store, id, metrics(1), 3)).ok).toBe(true);
    expect(await recordEpoch(f.store, id, metrics(1), 3)).toEqual({ ok: false, why: 'duplicate' });
    expect((await recordEpoch(f.store, id, metrics(2), 3, metrics(2))).ok).toBe(true);
    // A restarted attempt that resumed one epoch behind (killed between recording epoch 2 and
    // writing its resume state) runs epoch 2 again: clients already have it, so it is not recorded.
    await transitionJob(f.store, id, 'running', { attempt: 2, reason: 'resumed' });
    expect(await recordEpoch(f.store, id, metrics(2, 2), 3)).toEqual({ ok: false, why: 'duplicate' });
    expect((await recordEpoch(f.store, id, metrics(3, 2), 3)).ok).toBe(true);
    await setBestMetrics(f.store, id, metrics(1));
    const job = await getJob(f.store, id);
    expect(job!.latest).toEqual(metrics(3, 2));
    expect(job!.best).toEqual(metrics(1));
    expect(job!.progress).toEqual({ epoch: 3, epochs: 3 });
    const recs = (await readStreamPage(f.store, id, null, 100, ['metrics'])).items.map((e) => [e.data.epoch, e.data.attempt]);
    expect(recs).toEqual([[1, 1], [2, 1], [3, 2]]);
  });

  it('refuses an epoch from an attempt that a later attempt has taken over', async () => {
    const r = await create('t-fence');
    if (r.kind !== 'created') throw new Error('not created');
    const id = r.job.id;
    await transitionJob(f.store, id, 'running', { attempt: 1 });
    expect((await recordEpoch(f.store, id, metrics(1), 3)).ok).toBe(true);
    await transitionJob(f.store, id, 'running', { attempt: 2, reason: 'restarted' });
    expect(await recordEpoch(f.store, id, metrics(2), 3)).toEqual({ ok: false, why: 'superseded' });
    expect((await recordEpoch(f.store, id, metrics(2, 2), 3)).ok).toBe(true);
    const recs = (await readStreamPage(f.store, id, null, 100, ['metrics'])).items.map((e) => [e.data.epoch, e.data.attempt]);
    expect(recs).toEqual([[1, 1], [2, 2]]);
  });

  it('answers a superseded attempt so even when the later attempt has ended the job', async () => {
    const r = await create('t-fence-ended');
    if (r.kind !== 'created') throw new Error('not created');
    const id = r.job.id;
    await transitionJob(f.store, id, 'running', { attempt: 1 });
    await transitionJob(f.store, id, 'running', { attempt: 2, reason: 'restarted' });
    await transitionJob(f.store, id, 'completed', { attempt: 2, reason: 'max_epochs' });
    expect(await recordEpoch(f.store, id, metrics(1), 3)).toEqual({ ok: false, why: 'superseded' });
    expect(await recordEpoch(f.store, id, metrics(1, 2), 3)).toEqual({ ok: false, why: 'terminal' });
  });

  it('does not bring an expired job back as a fragment', async () => {
    expect(await setBestMetrics(f.store, newJobId(), metrics(1))).toBe(false);
  });

  it('lists newest first with a cursor that never skips or repeats, and filters by status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await createJob(f.store, { id: newJobId(), tenant: 't-list', spec, priority: 50, datasetId: null, bodyHash: 'h', idempotencyKey: null });
      if (r.kind === 'created') ids.push(r.job.id);
      // Keep under the queued limit of 3 by moving each one on: even ones run, odd ones are cancelled.
      if (r.kind === 'created') await transitionJob(f.store, r.job.id, i % 2 === 0 ? 'running' : 'cancelled', { attempt: 1 });
    }
    expect(ids).toHaveLength(7);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await listJobs(f.store, 't-list', { limit: 3, cursor });
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());
    const running = await listJobs(f.store, 't-list', { limit: 10, status: 'running' });
    expect(running.items.map((j) => j.id)).toEqual([ids[6], ids[4], ids[2], ids[0]]);
    expect(running.nextCursor).toBeNull();
  });
});
