// /v1/datasets: uploads in every format, and bad uploads answered with 4xx naming the problem, on
// both storage drivers; no raw body is left in the store after any answer.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/store/datasets.js';
import { UPLOADS_PREFIX } from '../../src/store/object-keys.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

function idxImages(n: number, rows: number, cols: number, claimN = n): Buffer {
  const b = Buffer.alloc(16 + n * rows * cols);
  b.writeUInt32BE(0x00000803, 0);
  b.writeUInt32BE(claimN, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  for (let i = 0; i < n * rows * cols; i++) b[16 + i] = (i * 37) % 256;
  return b;
}

function idxLabels(labels: number[]): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(0x00000801, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}

function multipart(parts: { name: string; filename: string; data: Buffer; type?: string }[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----traind${Date.now()}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: ${p.type ?? 'application/octet-stream'}\r\n\r\n`),
      p.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** Raw upload bodies left in the store: none once an answer was sent, whatever it was. */
async function rawBodiesLeft(f: AppFixture): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of f.store.storage.list(UPLOADS_PREFIX)) keys.push(o.key);
  return keys;
}

// Every upload, on both storage drivers: DATA_DIR, and S3-compatible object storage (s3rver).
describe.each(['local', 's3'] as const)('/v1/datasets (%s storage)', (driver) => {
  let f: AppFixture;
  let s3: S3Server | null = null;
  beforeAll(async () => {
    if (driver === 's3') s3 = await startS3Server();
    // Each variant names its storage itself, whichever pass runs this file (npm test or npm run test:s3).
    const storage = s3?.env(`datasets-${Date.now().toString(36)}`) ?? { STORAGE_URL: '' };
    f = await appFixture({ BODY_LIMIT_BYTES: '200000', MAX_UNCOMPRESSED_BYTES: String(16 << 20), ...storage });
  });
  afterAll(async () => {
    await f.close();
    await s3?.close();
  });
  afterEach(async () => {
    expect(await rawBodiesLeft(f)).toEqual([]);
  });

  const csv = (text: string, query = '') => f.app.inject({ method: 'POST', url: `/v1/datasets${query}`, payload: text, headers: { 'content-type': 'text/csv' } });

  it('uploads a CSV with a label column: 201 with rows, features, classes, task; usable in a job', async () => {
    const res = await csv('a,b,species\n1,2,0\n3,4,1\n5,6,2\n7,8,1\n', '?label=species&name=tiny');
    expect(res.statusCode).toBe(201);
    const ds = res.json();
    expect(ds).toMatchObject({ rows: 4, features: 2, classes: 3, task: 'classification', name: 'tiny', format: 'csv' });
    const stored = await loadDataset(f.store, ds.id);
    expect(Array.from(stored.dataset.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await f.app.inject({ method: 'GET', url: `/v1/datasets/${ds.id}` })).json()).toEqual(ds);
    const job = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ dataset: ds.id, model: { layers: [{ type: 'dense', units: 3 }] } }) });
    expect(job.statusCode).toBe(201);
    const inUse = await f.app.inject({ method: 'DELETE', url: `/v1/datasets/${ds.id}` });
    expect(inUse.statusCode).toBe(409);
    expect(errorOf(inUse.body).details).toEqual({ jobs: [job.json().id] });
    const wrong = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ dataset: ds.id }) });
    expect(wrong.statusCode).toBe(400);
    expect(errorOf(wrong.body).details.path).toBe('model.layers.1.units');
  });

  it('refuses ragged CSV rows, naming the line', async () => {
    const res = await csv('a,b,label\n1,2,0\n3,1\n', '?label=label');
    expect(res.statusCode).toBe(400);
    const err = errorOf(res.body);
    expect(err.code).toBe('invalid_dataset');
    expect(err.details.path).toMatch(/3/);
  });

  it('refuses a non-numeric cell, naming it', async () => {
    const res = await csv('a,b,label\n1,2,0\n3,abc,1\n', '?label=label');
    expect(res.statusCode).toBe(400);
    const err = errorOf(res.body);
    expect(err.code).toBe('invalid_dataset');
    expect(err.details.path).toMatch(/b/);
    expect(err.message).toMatch(/abc|number/i);
  });

  it('refuses a label column that is not there', async () => {
    const res = await csv('a,b,c\n1,2,0\n', '?label=species');
    expect(res.statusCode).toBe(400);
    expect(errorOf(res.body).message).toMatch(/species/);
  });

  it('uploads JSON and NDJSON rows', async () => {
    const rows = [
      { features: [0.5, 1], label: 1.5 },
      { features: [1, 2], label: 3 },
    ];
    const json = await f.app.inject({ method: 'POST', url: '/v1/datasets?task=regression', payload: JSON.stringify(rows), headers: { 'content-type': 'application/json' } });
    expect(json.statusCode).toBe(201);
    expect(json.json()).toMatchObject({ rows: 2, features: 2, task: 'regression', classes: null, format: 'json' });
    const nd = await f.app.inject({ method: 'POST', url: '/v1/datasets', payload: rows.map((r) => JSON.stringify(r)).join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    expect(nd.statusCode).toBe(201);
    expect(nd.json()).toMatchObject({ rows: 2, format: 'ndjson' });
  });

  it('uploads IDX images + labels, gzipped, storing pixels as bytes (read as value / 255)', async () => {
    const body = multipart([
      { name: 'images', filename: 'train-images-idx3-ubyte.gz', data: gzipSync(idxImages(3, 2, 2)) },
      { name: 'labels', filename: 'train-labels-idx1-ubyte.gz', data: gzipSync(idxLabels([0, 1, 2])) },
    ]);
    const res = await f.app.inject({ method: 'POST', url: '/v1/datasets', ...body });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ rows: 3, features: 4, classes: 3, format: 'idx' });
    const stored = await loadDataset(f.store, res.json().id);
    expect(stored.dataset.x).toBeInstanceOf(Uint8Array);
    expect(stored.dataset.x[1]).toBe(37);
    // Header, 4 bytes per label, 1 per pixel: not 4 per pixel as float32.
    expect(res.json().size).toBeLessThan(12 + 1024 + 3 * 4 + 3 * 4);
  });

  it('refuses an IDX file whose header lies about its size', async () => {
    const body = multipart([
      { name: 'images', filename: 'images.idx', data: idxImages(3, 2, 2, 1000) },
      { name: 'labels', filename: 'labels.idx', data: idxLabels([0, 1, 2]) },
    ]);
    const res = await f.app.inject({ method: 'POST', url: '/v1/datasets', ...body });
    expect(res.statusCode).toBe(400);
    const err = errorOf(res.body);
    expect(err.code).toBe('invalid_dataset');
    expect(err.details.path).toMatch(/images/);
  });

  it('refuses a gzip bomb with 413 naming MAX_UNCOMPRESSED_BYTES, and a 4x float32 conversion too', async () => {
    // 20 KB of concatenated gzip members that inflate to 20 MiB, with an honest header.
    const mib = 1 << 20;
    const rest = gzipSync(new Uint8Array(mib));
    const bomb = Buffer.concat([gzipSync(idxImages(20 * 256, 64, 64).subarray(0, mib)), ...Array.from({ length: 19 }, () => rest)]);
    const labels = gzipSync(idxLabels(Array.from({ length: 20 * 256 }, () => 0)));
    const res = await f.app.inject({ method: 'POST', url: '/v1/datasets', ...multipart([{ name: 'images', filename: 'i.gz', data: bomb }, { name: 'labels', filename: 'l.gz', data: labels }]) });
    expect(res.statusCode).toBe(413);
    const err = errorOf(res.body);
    expect(err.code).toBe('dataset_too_large');
    expect(err.message).toContain('MAX_UNCOMPRESSED_BYTES');
    // 6 MB of pixels decompress within the limit but would be 24 MB of float32.
    const pixels = gzipSync(idxImages(1500, 64, 64));
    const wide = await f.app.inject({ method: 'POST', url: '/v1/datasets', ...multipart([{ name: 'images', filename: 'i.gz', data: pixels }, { name: 'labels', filename: 'l.gz', data: gzipSync(idxLabels(Array.from({ length: 1500 }, () => 0))) }]) });
    expect(wide.statusCode).toBe(413);
    expect(errorOf(wide.body).message).toContain('MAX_UNCOMPRESSED_BYTES');
  });

  it('refuses an IDX upload without labels, an unknown content type, and a body over the limit', async () => {
    const only = multipart([{ name: 'images', filename: 'i', data: idxImages(1, 1, 1) }]);
    const r1 = await f.app.inject({ method: 'POST', url: '/v1/datasets', ...only });
    expect(r1.statusCode).toBe(400);
    expect(errorOf(r1.body).details.path).toBe('labels');
    const r2 = await f.app.inject({ method: 'POST', url: '/v1/datasets', payload: 'x', headers: { 'content-type': 'image/png' } });
    expect(r2.statusCode).toBe(415);
    const big = `a,label\n${'1,0\n'.repeat(60000)}`;
    const r3 = await csv(big);
    expect(r3.statusCode).toBe(413);
    expect(errorOf(r3.body).code).toBe('payload_too_large');
    const r4 = await f.app.inject({ method: 'POST', url: '/v1/datasets', ...multipart([{ name: 'file', filename: 'big.csv', data: Buffer.from(big), type: 'text/csv' }]) });
    expect(r4.statusCode).toBe(413);
    expect(errorOf(r4.body).code).toBe('payload_too_large');
  });

  it('uploads a CSV file as a multipart "file" field', async () => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/datasets?label=y', ...multipart([{ name: 'file', filename: 'd.csv', data: Buffer.from('x,y\n0.5,1\n1.5,2\n'), type: 'text/csv' }]) });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ rows: 2, features: 1, format: 'csv' });
  });

  it('refuses NaN and Infinity cells', async () => {
    for (const cell of ['NaN', 'Infinity', '1e400']) {
      const res = await csv(`a,label\n${cell},0\n1,1\n`);
      expect(res.statusCode, cell).toBe(400);
      expect(errorOf(res.body).details.path).toMatch(/a/);
    }
  });

  it('lists newest first and deletes', async () => {
    const a = (await csv('x,label\n1,0\n2,1\n')).json();
    const b = (await csv('x,label\n1,0\n2,1\n')).json();
    const list = (await f.app.inject({ method: 'GET', url: '/v1/datasets?limit=2' })).json();
    expect(list.items.map((d: { id: string }) => d.id)).toEqual([b.id, a.id]);
    expect(list.nextCursor).toBe(a.id);
    expect((await f.app.inject({ method: 'DELETE', url: `/v1/datasets/${a.id}` })).statusCode).toBe(204);
    expect((await f.app.inject({ method: 'GET', url: `/v1/datasets/${a.id}` })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'DELETE', url: `/v1/datasets/${a.id}` })).statusCode).toBe(404);
  });
  it('answers 400, not 500, for a JSON row whose features nest 90,000 deep (JSON.stringify overflows at a few thousand)', async () => {
    const deep = `${'['.repeat(90_000)}1${']'.repeat(90_000)}`;
    for (const [type, payload] of [
      ['application/json', `[{"features": [1, ${deep}], "label": 0}]`],
      ['application/x-ndjson', `{"features": [${deep}], "label": 0}\n`],
    ] as const) {
      const res = await f.app.inject({ method: 'POST', url: '/v1/datasets', payload, headers: { 'content-type': type } });
      expect(res.statusCode, type).toBe(400);
      expect(errorOf(res.body).message, type).toMatch(/an array is not a number/);
    }
  });

  it('refuses IDX images of shape [N, 0] (no features), as CSV and JSON uploads are', async () => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/datasets', ...multipart([
      { name: 'images', filename: 'images.idx', data: idxImages(3, 1, 0) },
      { name: 'labels', filename: 'labels.idx', data: idxLabels([0, 1, 2]) },
    ]) });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ code: 'invalid_dataset', details: { path: 'images.header' } });
    expect(errorOf(res.body).message).toMatch(/no features/);
  });

  it('bounds a multipart body by BODY_LIMIT_BYTES in total, not per file', async () => {
    // Two files of 60 % of the limit each: either alone fits, together they do not.
    const each = Math.floor(f.config.limits.bodyBytes * 0.6);
    const images = idxImages(1, 1, each - 16);
    const labels = Buffer.concat([idxLabels([0]), Buffer.alloc(each - 9)]);
    const body = multipart([{ name: 'images', filename: 'i.idx', data: images }, { name: 'labels', filename: 'l.idx', data: labels }]);
    const res = await f.app.inject({ method: 'POST', url: '/v1/datasets', ...body });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res.body).code).toBe('payload_too_large');
    expect(errorOf(res.body).message).toContain(`${f.config.limits.bodyBytes} bytes`);
    // Without a Content-Length (chunked), the files' bytes are counted as they arrive.
    const chunked = await f.app.inject({ method: 'POST', url: '/v1/datasets', headers: { ...body.headers, 'transfer-encoding': 'chunked' }, payload: Readable.from([body.payload]) });
    expect(chunked.statusCode).toBe(413);
    expect(errorOf(chunked.body).code).toBe('payload_too_large');
  });
});

describe('error answers are bounded', () => {
  it('quotes a short prefix of a 4 MB CSV cell, not the cell', async () => {
    const f = await appFixture();
    try {
      const cell = '9'.repeat(4 * 1024 * 1024);
      const res = await f.app.inject({ method: 'POST', url: '/v1/datasets', payload: `a,label\n${cell},1\n`, headers: { 'content-type': 'text/csv' } });
      expect(res.statusCode).toBe(400);
      expect(res.body.length).toBeLessThan(2048);
      expect(errorOf(res.body).message).toContain(`(${cell.length} characters)`);
      expect(errorOf(res.body).details.path).toBe('line.2.a');
    } finally {
      await f.close();
    }
  });

  it('caps the issues of a spec with thousands of unknown fields and the length of each', async () => {
    const f = await appFixture();
    try {
      const spec: Record<string, unknown> = { dataset: { builtin: 'xor' }, model: { layers: [{ type: 'dense', units: 2 }] } };
      for (let i = 0; i < 5000; i++) spec[`unknown_${i}_${'k'.repeat(100)}`] = i;
      const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: spec });
      expect(res.statusCode).toBe(400);
      expect(res.body.length).toBeLessThan(16 * 1024);
    } finally {
      await f.close();
    }
  });
});
