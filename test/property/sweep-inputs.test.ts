// Property tests of POST /v1/sweeps with generated input: sweeps built from valid job specs and
// generated spaces, and the same corrupted in one place (values, raw non-JSON tokens, missing and
// unknown keys, hostile paths). Every answer is a 201 or a 4xx naming a field — never a 5xx.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFixture, type AppFixture } from '../api/helpers.js';
import { corrupt, mutation, paths, validSpec, type JsonObject } from './arbitraries.js';

type Json = JsonObject[string];

let f: AppFixture;

beforeAll(async () => {
  f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '100000', RATE_LIMIT_MAX: '10000000', MAX_SWEEP_TRIALS: '20' });
});

afterAll(async () => {
  await f?.close();
});

/** Spec paths a space may name, right or wrong, and hostile ones. */
const spacePath = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('learningRate', 'epochs', 'batchSize', 'seed', 'model.layers.0.units', 'optimizer.type', 'regularization.l2', 'checkpoints.keepBest') },
  fc.constantFrom('learningRate', 'epochs', 'batchSize', 'seed', 'model.layers.0.units', 'model.layers.1.rate', 'optimizer.type', 'optimizer.momentum', 'regularization.l2', 'loss', 'name', 'checkpoints.keepBest', 'validation.fraction'),
  fc.constantFrom('model.layers.9.units', 'model.0', 'learningRate.initial', '__proto__', 'constructor.prototype', 'model.layers.0.units.x', 'a..b', ''),
  fc.string({ maxLength: 30 }),
);

const distribution: fc.Arbitrary<Json> = fc.oneof(
  fc.record({ choice: fc.array(fc.oneof(fc.integer({ min: -5, max: 300 }), fc.double({ noNaN: true, min: -10, max: 10 }), fc.constantFrom('sgd', 'adam', 'relu', null, true)), { minLength: 1, maxLength: 6 }) }),
  fc.record({ grid: fc.array(fc.integer({ min: -2, max: 64 }), { minLength: 1, maxLength: 4 }) }),
  fc.tuple(fc.double({ noNaN: true, min: -1, max: 1 }), fc.double({ noNaN: true, min: 0, max: 2 })).map(([a, b]) => ({ uniform: [Math.min(a, b), Math.max(a, b)] })),
  fc.tuple(fc.double({ min: 1e-6, max: 1 }), fc.double({ min: 1e-6, max: 10 })).map(([a, b]) => ({ loguniform: [Math.min(a, b), Math.max(a, b)] })),
  fc.tuple(fc.integer({ min: -3, max: 100 }), fc.integer({ min: 0, max: 200 })).map(([a, b]) => ({ intuniform: [Math.min(a, b), Math.max(a, b)] })),
);

const sweep: fc.Arbitrary<JsonObject> = fc
  .record({
    base: validSpec,
    space: fc.dictionary(spacePath, distribution, { minKeys: 1, maxKeys: 3 }),
    method: fc.constantFrom('random', 'random', 'random', 'grid'),
    maxTrials: fc.integer({ min: 1, max: 20 }),
    parallelism: fc.integer({ min: 1, max: 4 }),
    asha: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  })
  .map((g): JsonObject => ({
    base: g.base,
    space: g.space,
    method: g.method,
    maxTrials: g.maxTrials,
    parallelism: g.parallelism,
    objective: { metric: 'loss', mode: 'min' },
    earlyTermination: g.asha ? { type: 'asha', gracePeriod: 1, reductionFactor: 3 } : { type: 'none' },
    seed: g.seed,
  }));

interface ErrorBody {
  error: { code: string; message: string; details: { path?: unknown; issues?: { path: string }[] } };
}

async function post(body: string): Promise<{ status: number; body: string }> {
  const res = await f.app.inject({ method: 'POST', url: '/v1/sweeps', payload: body, headers: { 'content-type': 'application/json' } });
  return { status: res.statusCode, body: res.body };
}

function checked(res: { status: number; body: string }, what: string): void {
  const ok = res.status === 201 || (res.status >= 400 && res.status < 500);
  expect(ok, `${what} → ${res.status} ${res.body.slice(0, 400)}`).toBe(true);
  if (res.status === 201) return;
  const e = (JSON.parse(res.body) as ErrorBody).error;
  expect(typeof e.code, what).toBe('string');
  if (e.code === 'invalid_sweep' || (e.code === 'invalid_request' && e.details.issues !== undefined)) {
    expect(typeof e.details.path, `${what}: details.path in ${res.body.slice(0, 300)}`).toBe('string');
  }
  if (e.code === 'invalid_sweep') {
    expect(String(e.details.path), `${what}: ${res.body.slice(0, 300)}`).toMatch(/^(space\.|base|objective\.|maxTrials$|space$)/);
  }
}

describe('POST /v1/sweeps with generated input', () => {
  it('a generated sweep is accepted or refused naming a path, never a 5xx', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(sweep, async (s) => {
        const res = await post(JSON.stringify(s));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        checked(res, `POST /v1/sweeps ${JSON.stringify(s).slice(0, 300)}`);
      }),
      { numRuns: 150 },
    );
    // The generator reaches the checks past the schema: some sweeps are accepted, some refused.
    expect(statuses.get(201) ?? 0, JSON.stringify([...statuses])).toBeGreaterThanOrEqual(5);
    expect(statuses.get(400) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(10);
  });

  it('a sweep corrupted in one place is still a 201 or a 4xx, never a 5xx', async () => {
    const cases = sweep.chain((s) => fc.record({ s: fc.constant(s), at: fc.nat(), m: mutation }));
    await fc.assert(
      fc.asyncProperty(cases, async ({ s, at, m }) => {
        const all = paths(s);
        const path = all[at % all.length] ?? ['name'];
        checked(await post(corrupt(s, path, m)), `POST /v1/sweeps with ${JSON.stringify(m)} at ${path.join('.')}`);
      }),
      { numRuns: 300 },
    );
  });
});
