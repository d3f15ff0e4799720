// Uploads and predict run in the API's CPU threads: admission before the body is read (503 with
// Retry-After beyond API_CPU_THREADS + API_CPU_QUEUE), the predict cost bound (400 naming
// MAX_PREDICT_COST before any inference), and raw upload bodies deleted once answered.
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../../src/core/index.js';
import { builtinDataset } from '../../src/data/index.js';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { resolveSpec, toTrainConfig } from '../../src/spec/to-train-config.js';
import { removeStaleSpooled, STALE_SPOOL_MS } from '../../src/api/spool.js';
import { UPLOADS_PREFIX } from '../../src/store/object-keys.js';
import { recordBestCheckpoint } from '../../src/store/checkpoints.js';
import { waitFor } from '../helpers/wait.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

/** Starts a CSV upload over real HTTP and sends only part of its body: it stays in progress. */
function openUpload(port: number): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/datasets', headers: { 'content-type': 'text/csv', 'content-length': '1000' } });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  req.write('a,label\n');
  return { req, response };
}

describe('CPU threads for uploads and predict', () => {
  let f: AppFixture;
  let port: number;
  beforeAll(async () => {
    f = await appFixture({ API_CPU_THREADS: '1', API_CPU_QUEUE: '0', MAX_PREDICT_COST: '100' });
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    port = (f.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await f.close();
  });

  it('admits API_CPU_THREADS + API_CPU_QUEUE uploads at once; the next gets 503 with Retry-After before its body is sent', async () => {
    const first = openUpload(port);
    // The first request holds the only slot while its body trickles in.
    await new Promise((r) => setTimeout(r, 200));
    const second = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/datasets', headers: { 'content-type': 'text/csv', 'content-length': '1000000' } });
    const answered = new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      second.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
      });
      second.on('error', reject);
    });
    second.flushHeaders();
    const refused = await answered;
    second.destroy();
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('5');
    const err = errorOf(refused.body);
    expect(err.code).toBe('unavailable');
    expect(err.message).toContain('API_CPU_THREADS=1');
    expect(err.message).toContain('API_CPU_QUEUE=0');

    // A client that goes away gives its slot back.
    first.req.destroy();
    await first.response.catch(() => undefined);
    await waitFor(async () => (await f.app.inject({ method: 'POST', url: '/v1/datasets', payload: 'a,label\n1,0\n2,1\n', headers: { 'content-type': 'text/csv' } })).statusCode === 201, {
      timeoutMs: 5000,
      what: 'the slot to be released',
    });
    // Answered requests give their slot back too, also on a kept-alive connection (fetch reuses it).
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/datasets`, { method: 'POST', body: 'a,label\n1,0\n2,1\n', headers: { 'content-type': 'text/csv' } });
      expect(res.status).toBe(201);
      await res.arrayBuffer();
    }
  });

  it('refuses a predict over MAX_PREDICT_COST (rows × parameters) with 400 naming it, and answers one within it', async () => {
    const body = xorSpec({ epochs: 3 });
    const id = (await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: body })).json().id as string;
    await train(toTrainConfig(resolveSpec(JobSpecSchema.parse(body))), { train: builtinDataset('xor').dataset, validation: null }, {
      onBest: (e) => recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted }).then(() => undefined),
    });
    // xorSpec: 2 → 8 → 2, so 8·2 + 8 + 2·8 + 2 = 42 parameters; 2 rows cost 84, 3 rows 126.
    const ok = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: { inputs: [[0, 1], [1, 0]] } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().outputs).toHaveLength(2);
    const over = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: { inputs: [[0, 1], [1, 0], [1, 1]] } });
    expect(over.statusCode).toBe(400);
    const err = errorOf(over.body);
    expect(err.code).toBe('invalid_inputs');
    expect(err.details.path).toBe('inputs');
    expect(err.message).toContain('3 rows × 42 parameters = 126 is over MAX_PREDICT_COST = 100');
    expect(err.message).toContain('at most 2 rows');
  });

  it('checks the predict body in the thread with the same answers as the schema: paths, bad JSON, unknown fields', async () => {
    const id = (await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ epochs: 1 }) })).json().id as string;
    await train(toTrainConfig(resolveSpec(JobSpecSchema.parse(xorSpec({ epochs: 1 })))), { train: builtinDataset('xor').dataset, validation: null }, {
      onBest: (e) => recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted }).then(() => undefined),
    });
    const send = (payload: string) => f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload, headers: { 'content-type': 'application/json' } });
    const cases: [string, number, string, string][] = [
      ['{"inputs": [[0, 1], [0, "x"]]}', 400, 'invalid_request', 'inputs.1.1'],
      ['{"inputs": [[0, 1], [0, 1e31]]}', 400, 'invalid_request', 'inputs.1.1'],
      ['{"inputs": []}', 400, 'invalid_request', 'inputs'],
      ['{"inputs": [[0, 1]], "extra": 1}', 400, 'invalid_request', 'extra'],
      ['{"inputs": [[0, 1], 7]}', 400, 'invalid_request', 'inputs.1'],
      ['{"inputs": [[0, 1], [1, 2, 3]]}', 400, 'invalid_inputs', 'inputs.1'],
    ];
    for (const [payload, status, code, where] of cases) {
      const res = await send(payload);
      expect(res.statusCode, payload).toBe(status);
      expect(errorOf(res.body), payload).toMatchObject({ code, details: { path: where } });
    }
    const broken = await send('{"inputs": [[0, 1]');
    expect(broken.statusCode).toBe(400);
    expect(errorOf(broken.body).code).toBe('invalid_json');
  });

  it('deletes raw upload bodies from the store before answering, refused or not', async () => {
    const left = async () => {
      const keys: string[] = [];
      for await (const o of f.store.storage.list(UPLOADS_PREFIX)) keys.push(o.key);
      return keys;
    };
    expect((await f.app.inject({ method: 'POST', url: '/v1/datasets', payload: 'a,label\n1,0\n', headers: { 'content-type': 'text/csv' } })).statusCode).toBe(201);
    expect(await left()).toEqual([]);
    expect((await f.app.inject({ method: 'POST', url: '/v1/datasets', payload: 'a,label\nx,0\n', headers: { 'content-type': 'text/csv' } })).statusCode).toBe(400);
    expect(await left()).toEqual([]);
  });

  it('removes bodies an earlier API process left in DATA_DIR/tmp once they are an hour old, and no others', async () => {
    const tmp = path.join(f.dataDir, 'tmp');
    await mkdir(tmp, { recursive: true });
    await writeFile(path.join(tmp, 'body-old'), 'x');
    await writeFile(path.join(tmp, 'body-new'), 'x');
    await writeFile(path.join(tmp, 'other'), 'x');
    const past = new Date(Date.now() - STALE_SPOOL_MS - 60_000);
    await utimes(path.join(tmp, 'body-old'), past, past);
    await utimes(path.join(tmp, 'other'), past, past);
    expect(await removeStaleSpooled(f.dataDir)).toBe(1);
    expect((await readdir(tmp)).sort()).toEqual(['body-new', 'other']);
  });
});

describe('a CPU thread that runs out of memory', () => {
  let f: AppFixture;
  beforeAll(async () => {
    // 32 MiB: the thread starts (about 14 MiB of heap) and predicts a few rows, not a 16 MB JSON body.
    f = await appFixture({ API_CPU_THREADS: '1', API_CPU_THREAD_HEAP_MB: '32' });
  });
  afterAll(async () => {
    await f.close();
  });

  it('answers 503 insufficient_memory with Retry-After, not 500, and the next request gets a new thread', async () => {
    const spec = xorSpec({ epochs: 1 });
    const id = (await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: spec })).json().id as string;
    await train(toTrainConfig(resolveSpec(JobSpecSchema.parse(spec))), { train: builtinDataset('xor').dataset, validation: null }, {
      onBest: (e) => recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted }).then(() => undefined),
    });
    const small = { inputs: [[0, 1], [1, 0]] };
    expect((await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: small })).statusCode).toBe(200);

    // 600,000 rows: the body's text and the parsed rows are more than the thread's 32 MiB heap.
    const big = `{"inputs":[${Array.from({ length: 600_000 }, (_, i) => `[0.${String(i).padStart(9, '7')},0.123456789]`).join(',')}]}`;
    const res = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: big, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    const err = errorOf(res.body);
    expect(err.code).toBe('insufficient_memory');
    expect(err.message).toBe('the request needed more memory than the server could give it (the thread that ran it reached its heap limit of API_CPU_THREAD_HEAP_MB=32 MiB); retry in 5 s, or send a smaller request');

    expect((await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: small })).statusCode).toBe(200);
  });
});
