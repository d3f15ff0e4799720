// Property: the configured limits hold exactly — a spec or an upload is accepted iff it is within
// every limit, and otherwise refused naming each limit it breaks (model params, epochs × rows, …).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFixture, type AppFixture } from '../api/helpers.js';

const LIMITS = { params: 5000, epochRows: 20_000, checkpoints: 4, rows: 50, features: 6 };

const DATASETS = [
  { name: 'moons', rows: 500, features: 2, classes: 2 },
  { name: 'iris', rows: 150, features: 4, classes: 3 },
  { name: 'spirals', rows: 300, features: 2, classes: 3 },
];

let f: AppFixture;

beforeAll(async () => {
  f = await appFixture({
    MAX_MODEL_PARAMS: String(LIMITS.params),
    MAX_EPOCH_ROWS: String(LIMITS.epochRows),
    MAX_CHECKPOINTS: String(LIMITS.checkpoints),
    MAX_DATASET_ROWS: String(LIMITS.rows),
    MAX_DATASET_FEATURES: String(LIMITS.features),
    MAX_QUEUED_JOBS_PER_TENANT: '100000',
    RATE_LIMIT_MAX: '10000000',
  });
});

afterAll(async () => {
  await f?.close();
});

interface ErrorBody {
  error: { code: string; details: { path?: string; issues?: { path: string }[] } };
}

describe('configured limits', () => {
  it('a spec is accepted iff within every limit, else refused naming each one it breaks', async () => {
    const gen = fc.record({
      ds: fc.constantFrom(...DATASETS),
      hidden: fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 2 }),
      epochs: fc.integer({ min: 1, max: 150 }),
      fraction: fc.option(fc.constantFrom(0.1, 0.2, 0.25, 0.3), { nil: null }),
      keepBest: fc.integer({ min: 1, max: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(gen, async ({ ds, hidden, epochs, fraction, keepBest }) => {
        const widths = [ds.features, ...hidden, ds.classes];
        let params = 0;
        for (let i = 1; i < widths.length; i++) params += (widths[i - 1] as number) * (widths[i] as number) + (widths[i] as number);
        const trainRows = fraction === null ? ds.rows : ds.rows - Math.ceil(ds.rows * fraction);
        const broken = new Set<string>();
        if (params > LIMITS.params) broken.add('model.layers');
        if (epochs * trainRows > LIMITS.epochRows) broken.add('epochs');
        if (keepBest > LIMITS.checkpoints) broken.add('checkpoints.keepBest');

        const spec: Record<string, unknown> = {
          dataset: { builtin: ds.name },
          model: { layers: [...hidden.map((units) => ({ type: 'dense', units, activation: 'relu' })), { type: 'dense', units: ds.classes }] },
          loss: 'softmax_cross_entropy',
          epochs,
          checkpoints: { keepBest },
        };
        if (fraction !== null) spec.validation = { fraction };
        const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: spec });
        const what = `params ${params}, epochs×rows ${epochs * trainRows}, keepBest ${keepBest}: ${res.body.slice(0, 400)}`;
        if (broken.size === 0) {
          expect(res.statusCode, what).toBe(201);
          return;
        }
        expect(res.statusCode, what).toBe(400);
        const err = res.json<ErrorBody>().error;
        expect(err.code).toBe('invalid_spec');
        expect(new Set((err.details.issues ?? []).map((i) => i.path)), what).toEqual(broken);
      }),
      { numRuns: 150 },
    );
  });

  it('an upload is stored iff its rows and features are within the limits, else 413 dataset_too_large', async () => {
    const gen = fc.record({ rows: fc.integer({ min: 1, max: 80 }), features: fc.integer({ min: 1, max: 10 }) });
    await fc.assert(
      fc.asyncProperty(gen, async ({ rows, features }) => {
        const header = [...Array.from({ length: features }, (_, j) => `f${j}`), 'label'].join(',');
        const body = [header, ...Array.from({ length: rows }, (_, i) => [...Array.from({ length: features }, (_, j) => ((i * 7 + j) % 13) / 10), i % 2].join(','))].join('\n');
        const res = await f.app.inject({ method: 'POST', url: '/v1/datasets?label=label', payload: body, headers: { 'content-type': 'text/csv' } });
        const within = rows <= LIMITS.rows && features <= LIMITS.features;
        if (within) {
          expect(res.statusCode, res.body).toBe(201);
          return;
        }
        expect(res.statusCode, `${rows}×${features}: ${res.body}`).toBe(413);
        const err = res.json<ErrorBody>().error;
        expect(err.code).toBe('dataset_too_large');
        expect(typeof err.details.path).toBe('string');
      }),
      { numRuns: 80 },
    );
  });
});
