// /v1/sweeps over app.inject with a real Redis and BullMQ queue (no worker: trial endings are
// simulated through the store): submission checks naming the path, deterministic proposals,
// parallelism bounding the live trials, trials as ordinary jobs, cancel, limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob, listJobs, transitionJob } from '../../src/store/jobs.js';
import { claimTrial, finishTrial, getSweep } from '../../src/store/sweeps.js';
import { buildTrial } from '../../src/sweep/trial.js';
import { newJobId } from '../../src/store/ids.js';
import { createSweepDriver } from '../../src/sweep/driver.js';
import { sha256Hex } from '../../src/api/auth.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

interface SweepBody {
  id: string;
  status: string;
  counts: Record<string, number>;
  leaderboard: { trial: number; jobId: string | null; state: string; params: Record<string, unknown>; error: string | null }[];
  spec: { seed: number; maxTrials: number };
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function sweepBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'xor-lr',
    base: xorSpec({ validation: { fraction: 0.25 } }),
    space: { learningRate: { loguniform: [1e-3, 1e-1] }, 'model.layers.0.units': { choice: [4, 8, 16] } },
    maxTrials: 6,
    parallelism: 2,
    objective: { metric: 'val_loss', mode: 'min' },
    seed: 7,
    ...extra,
  };
}

describe('/v1/sweeps', () => {
  let f: AppFixture;
  beforeAll(async () => {
    f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '1000', MAX_SWEEP_TRIALS: '50' });
  });
  afterAll(async () => {
    await f.close();
  });

  const submit = (body: unknown) => f.app.inject({ method: 'POST', url: '/v1/sweeps', payload: body as object });
  const get = async (id: string) => (await f.app.inject({ method: 'GET', url: `/v1/sweeps/${id}` })).json() as SweepBody;

  it('launches `parallelism` trials as ordinary queued jobs with their sweep and sampled params', async () => {
    const res = await submit(sweepBody());
    expect(res.statusCode).toBe(201);
    const sweep = res.json() as SweepBody;
    expect(res.headers.location).toBe(`/v1/sweeps/${sweep.id}`);
    expect(sweep.id).toMatch(/^sw_/);
    expect(sweep.status).toBe('running');
    expect(sweep.counts).toMatchObject({ queued: 2, running: 0, pending: 4 });
    expect(sweep.leaderboard.map((t) => t.trial)).toEqual([0, 1]);
    for (const t of sweep.leaderboard) {
      const job = await getJob(f.store, t.jobId as string);
      expect(job).toMatchObject({ status: 'queued', sweep: sweep.id, trial: t.trial, params: t.params });
      expect(job?.spec.learningRate).toBe(t.params.learningRate);
      expect(job?.spec.model.layers[0]).toMatchObject({ units: t.params['model.layers.0.units'] });
      // Ranked by the objective: the best checkpoint is the best trial's by val_loss.
      expect(job?.spec.checkpoints).toMatchObject({ monitor: 'val_loss', mode: 'min' });
      expect((await f.queue.getJob(t.jobId as string))?.data).toMatchObject({ jobId: t.jobId, sweep: sweep.id });
      const lr = t.params.learningRate as number;
      expect(lr).toBeGreaterThanOrEqual(1e-3);
      expect(lr).toBeLessThanOrEqual(1e-1);
    }
    const listed = await f.app.inject({ method: 'GET', url: `/v1/jobs?sweep=${sweep.id}` });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items.map((j: { trial: number }) => j.trial).sort()).toEqual([0, 1]);
    expect(listed.json().items[0].sweep).toBe(sweep.id);

    // A trial ends: the next one starts, never more than 2 live.
    const driver = createSweepDriver({ store: f.store, queue: f.queue, logger: quiet as never });
    const first = sweep.leaderboard[0]?.jobId as string;
    await transitionJob(f.store, first, 'running', { attempt: 1 });
    await transitionJob(f.store, first, 'completed', { attempt: 1, reason: 'max_epochs' });
    await driver.drive(sweep.id);
    await driver.drive(sweep.id);
    const after = await get(sweep.id);
    expect(after.counts).toMatchObject({ queued: 2, completed: 1, pending: 3 });
    expect(after.leaderboard.map((t) => t.trial).sort()).toEqual([0, 1, 2]);
  });

  it('proposes the same trials in the same order for the same seed, other ones for another seed', async () => {
    const paramsOf = async (seed: number) => {
      const s = (await submit(sweepBody({ seed, parallelism: 6 }))).json() as SweepBody;
      const got = (await get(s.id)).leaderboard.sort((a, b) => a.trial - b.trial).map((t) => t.params);
      await f.app.inject({ method: 'POST', url: `/v1/sweeps/${s.id}/cancel` });
      return got;
    };
    const a = await paramsOf(11);
    const b = await paramsOf(11);
    const c = await paramsOf(12);
    expect(a).toHaveLength(6);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('grid: crosses the grid axes in order and defaults maxTrials to the grid size', async () => {
    const res = await submit(
      sweepBody({ method: 'grid', maxTrials: undefined, parallelism: 10, space: { learningRate: { grid: [0.01, 0.1] }, 'model.layers.0.units': { grid: [4, 8, 16] } } }),
    );
    expect(res.statusCode).toBe(201);
    const s = res.json() as SweepBody;
    expect(s.spec.maxTrials).toBe(6);
    const params = s.leaderboard.sort((a, b) => a.trial - b.trial).map((t) => [t.params.learningRate, t.params['model.layers.0.units']]);
    expect(params).toEqual([[0.01, 4], [0.01, 8], [0.01, 16], [0.1, 4], [0.1, 8], [0.1, 16]]);
    await f.app.inject({ method: 'POST', url: `/v1/sweeps/${s.id}/cancel` });
  });

  describe('a space that can only produce invalid specs is a 400 naming the path', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['every choice out of range', sweepBody({ space: { 'model.layers.0.units': { choice: [0, -1] } } }), 'space.model.layers.0.units'],
      ['a path that is not a field', sweepBody({ space: { learningRat: { uniform: [0.01, 0.1] } } }), 'space.learningRat'],
      ['an index past the layers', sweepBody({ space: { 'model.layers.5.units': { choice: [4] } } }), 'space.model.layers.5.units'],
      ['a bound out of range for the field', sweepBody({ space: { learningRate: { uniform: [20, 30] } } }), 'space.learningRate'],
      ['the base itself invalid', sweepBody({ base: xorSpec({ epochs: 0 }) }), 'base.epochs'],
      ['an objective the trials do not report', sweepBody({ objective: { metric: 'val_r2', mode: 'max' } }), 'objective.metric'],
      ['a val_ objective without validation', sweepBody({ base: xorSpec() }), 'objective.metric'],
    ];
    for (const [name, body, path] of cases) {
      it(name, async () => {
        const res = await submit(body);
        expect(res.statusCode).toBe(400);
        const err = errorOf(res.body);
        expect(err.code).toBe('invalid_sweep');
        expect(err.details.path).toBe(path);
      });
    }

    it('schema-level mistakes in the sweep itself name their field', async () => {
      for (const [body, path] of [
        [sweepBody({ parallelism: 0 }), 'parallelism'],
        [sweepBody({ maxTrials: 1e6 }), 'maxTrials'],
        [sweepBody({ space: { learningRate: { uniform: [0.1, 0.01] } } }), 'space.learningRate.uniform.1'],
        [sweepBody({ space: { learningRate: { loguniform: [0, 0.1] } } }), 'space.learningRate'],
        [sweepBody({ earlyTermination: { type: 'asha', reductionFactor: 1 } }), 'earlyTermination.reductionFactor'],
        [sweepBody({ method: 'grid' }), 'method'],
      ] as const) {
        const res = await submit(body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(errorOf(res.body).details.path?.startsWith(path), res.body).toBe(true);
      }
    });

    it('MAX_SWEEP_TRIALS bounds maxTrials', async () => {
      const res = await submit(sweepBody({ maxTrials: 51 }));
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.body)).toMatchObject({ code: 'invalid_sweep', details: { path: 'maxTrials' } });
      expect(errorOf(res.body).message).toMatch(/MAX_SWEEP_TRIALS \(50\)/);
    });
  });

  it('a trial whose sampled spec cannot run is recorded invalid, and the sweep goes on', async () => {
    // units 0 is invalid, 8 is fine: accepted; trials that drew 0 are invalid, with the reason.
    const res = await submit(sweepBody({ space: { 'model.layers.0.units': { choice: [0, 8] } }, maxTrials: 8, parallelism: 8 }));
    expect(res.statusCode).toBe(201);
    const s = res.json() as SweepBody;
    const invalid = s.leaderboard.filter((t) => t.state === 'invalid');
    const queued = s.leaderboard.filter((t) => t.state === 'queued');
    expect(invalid.length).toBeGreaterThan(0);
    expect(queued.length).toBeGreaterThan(0);
    expect(invalid.length + queued.length).toBe(8);
    for (const t of invalid) {
      expect(t.params['model.layers.0.units']).toBe(0);
      expect(t.jobId).toBeNull();
      expect(t.error).toMatch(/space\.model\.layers\.0\.units/);
    }
    expect(s.counts.invalid).toBe(invalid.length);
    await f.app.inject({ method: 'POST', url: `/v1/sweeps/${s.id}/cancel` });
  });

  it('cancel: queued trials cancelled at once, no new ones, the sweep ends cancelled; a second cancel is 409', async () => {
    const s = (await submit(sweepBody())).json() as SweepBody;
    const res = await f.app.inject({ method: 'POST', url: `/v1/sweeps/${s.id}/cancel` });
    expect(res.statusCode).toBe(202);
    const after = res.json() as SweepBody;
    expect(after.status).toBe('cancelled');
    expect(after.counts).toMatchObject({ cancelled: 2, queued: 0, pending: 4 });
    for (const t of s.leaderboard) {
      expect((await getJob(f.store, t.jobId as string))?.status).toBe('cancelled');
      expect(await f.queue.getJob(t.jobId as string)).toBeUndefined();
    }
    const again = await f.app.inject({ method: 'POST', url: `/v1/sweeps/${s.id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again.body).code).toBe('sweep_finished');
    // The event stream of a finished sweep replays its events and ends.
    const events = await f.app.inject({ method: 'GET', url: `/v1/sweeps/${s.id}/events` });
    expect(events.statusCode).toBe(200);
    const types = [...events.body.matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
    expect(types).toEqual(['trial_started', 'trial_started', 'trial_finished', 'trial_finished', 'sweep_finished']);
  });

  it('a trial launched by a process that died before creating its job is created by the next drive, once, however many drivers race', async () => {
    const s = (await submit(sweepBody({ parallelism: 2 }))).json() as SweepBody;
    const sweep = await getSweep(f.store, s.id);
    // Trial 0 ends and a driver records it, freeing a slot...
    const first = s.leaderboard.find((t) => t.trial === 0)!.jobId as string;
    await transitionJob(f.store, first, 'cancelled', { reason: 'cancelled_by_user' });
    expect(await finishTrial(f.store, s.id, 0, first, { outcome: 'cancelled', status: 'cancelled', reason: 'cancelled_by_user' })).toBe(true);
    expect(await finishTrial(f.store, s.id, 0, first, { outcome: 'cancelled', status: 'cancelled', reason: 'cancelled_by_user' })).toBe(false);
    // ...then dies having claimed trial 2 (its slot taken, its job id chosen) without creating its job.
    const built = await buildTrial(f.store, 'default', sweep!.spec, 'xor-lr', 2);
    const jobId = newJobId();
    expect(await claimTrial(f.store, s.id, 2, { jobId, params: built.params }, null)).toBe('ok');
    expect(await getJob(f.store, jobId)).toBeNull();
    // A second claim of the same trial (a racing process) is refused: the trial has its job id.
    expect(await claimTrial(f.store, s.id, 2, { jobId: newJobId(), params: built.params }, null)).toBe('race');
    const drivers = Array.from({ length: 4 }, () => createSweepDriver({ store: f.store, queue: f.queue, logger: quiet as never }));
    await Promise.all(drivers.map((d) => d.drive(s.id)));
    const job = await getJob(f.store, jobId);
    expect(job).toMatchObject({ status: 'queued', sweep: s.id, trial: 2, params: built.params });
    expect((await f.queue.getJob(jobId))?.data).toMatchObject({ jobId, sweep: s.id });
    const trials = (await listJobs(f.store, 'default', { sweep: s.id, limit: 100 })).items;
    expect(trials.map((t) => t.trial).sort()).toEqual([0, 1, 2]);
    expect((await get(s.id)).counts).toMatchObject({ queued: 2, cancelled: 1, pending: 3 });
    await f.app.inject({ method: 'POST', url: `/v1/sweeps/${s.id}/cancel` });
  });

  it('Idempotency-Key: a retry returns the same sweep (200) and starts nothing new; another body with the key is 409', async () => {
    const headers = { 'idempotency-key': 'sweep-retry-1' };
    const body = sweepBody({ seed: undefined, parallelism: 1 });
    const first = await f.app.inject({ method: 'POST', url: '/v1/sweeps', payload: body, headers });
    expect(first.statusCode).toBe(201);
    const again = await f.app.inject({ method: 'POST', url: '/v1/sweeps', payload: body, headers });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    // The seed was drawn once: the retry did not make a second sweep with another one.
    expect(again.json().spec.seed).toBe(first.json().spec.seed);
    const trials = (await listJobs(f.store, 'default', { sweep: first.json().id, limit: 100 })).items;
    expect(trials).toHaveLength(1);
    const other = await f.app.inject({ method: 'POST', url: '/v1/sweeps', payload: { ...body, maxTrials: 7 }, headers });
    expect(other.statusCode).toBe(409);
    expect(errorOf(other.body)).toMatchObject({ code: 'idempotency_conflict', details: { path: 'headers.idempotency-key', sweepId: first.json().id } });
    // A job's key of the same text is another key.
    const job = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec(), headers });
    expect(job.statusCode).toBe(201);
    await f.app.inject({ method: 'POST', url: `/v1/sweeps/${first.json().id}/cancel` });
  });

  it('one drive proposes a bounded number of trials (invalid ones take no slot); the next drives go on', async () => {
    // Half the values are invalid, parallelism is the whole sweep: only the per-drive bound stops the first drive.
    const res = await submit(sweepBody({ space: { 'model.layers.0.units': { choice: [0, 8] } }, maxTrials: 50, parallelism: 50 }));
    expect(res.statusCode).toBe(201);
    const s = res.json() as SweepBody;
    expect(s.leaderboard).toHaveLength(32);
    expect(s.counts.pending).toBe(18);
    const driver = createSweepDriver({ store: f.store, queue: f.queue, logger: quiet as never });
    await driver.drive(s.id);
    const after = await get(s.id);
    expect(after.leaderboard).toHaveLength(50);
    expect(after.counts.pending).toBe(0);
    expect((after.counts.invalid ?? 0) + (after.counts.queued ?? 0)).toBe(50);
    await f.app.inject({ method: 'POST', url: `/v1/sweeps/${s.id}/cancel` });
  });

  it('lists sweeps newest first with a cursor; another id is 404', async () => {
    const page = await f.app.inject({ method: 'GET', url: '/v1/sweeps?limit=2' });
    expect(page.statusCode).toBe(200);
    const body = page.json() as { items: { id: string }[]; nextCursor: string };
    expect(body.items).toHaveLength(2);
    expect(body.items[0]!.id > body.items[1]!.id).toBe(true);
    const next = await f.app.inject({ method: 'GET', url: `/v1/sweeps?limit=2&cursor=${body.nextCursor}` });
    expect((next.json() as { items: { id: string }[] }).items[0]!.id < body.items[1]!.id).toBe(true);
    const missing = await f.app.inject({ method: 'GET', url: '/v1/sweeps/sw_01JD0000000000000000000000' });
    expect(missing.statusCode).toBe(404);
    const bad = await f.app.inject({ method: 'GET', url: '/v1/sweeps/nope' });
    expect(bad.statusCode).toBe(400);
  });
});

describe('/v1/sweeps between tenants', () => {
  let g: AppFixture;
  const A = 'key-alpha-0123456789abcdef0123456789';
  const B = 'key-beta-0123456789abcdef01234567890';
  beforeAll(async () => {
    g = await appFixture({ API_KEYS: `alpha:${sha256Hex(A)},beta:${sha256Hex(B)}`, MAX_QUEUED_JOBS_PER_TENANT: '1000' });
  });
  afterAll(async () => {
    await g.close();
  });
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  it("another tenant's sweep is not found anywhere, and its trials are not listed", async () => {
    const created = await g.app.inject({ method: 'POST', url: '/v1/sweeps', payload: sweepBody(), headers: as(A) });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    for (const [method, url] of [
      ['GET', `/v1/sweeps/${id}`],
      ['POST', `/v1/sweeps/${id}/cancel`],
      ['GET', `/v1/sweeps/${id}/events`],
    ] as const) {
      const res = await g.app.inject({ method, url, headers: as(B) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await g.app.inject({ method: 'GET', url: '/v1/sweeps', headers: as(B) })).json().items).toEqual([]);
    expect((await g.app.inject({ method: 'GET', url: `/v1/jobs?sweep=${id}`, headers: as(B) })).json().items).toEqual([]);
    expect((await g.app.inject({ method: 'GET', url: `/v1/jobs?sweep=${id}`, headers: as(A) })).json().items).toHaveLength(2);
    expect((await g.app.inject({ method: 'POST', url: `/v1/sweeps/${id}/cancel`, headers: as(A) })).statusCode).toBe(202);
  });
});
