// The API keeps answering while it works: GET /healthz is probed from its own thread (so the test's
// own work cannot delay the probe) while a real API process parses the largest uploads the default
// limits allow, refuses a gzip bomb and a 50 MB quoted CSV cell, and runs two predicts at the
// default cost bound. The bound is absolute: p99 < 50 ms.
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { train } from '../../src/core/index.js';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { resolveSpec, toTrainConfig } from '../../src/spec/to-train-config.js';
import { recordBestCheckpoint } from '../../src/store/checkpoints.js';
import { createStore } from '../../src/store/redis.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { idxFile } from '../helpers/idx.js';

const MIB = 1 << 20;
const FEATURES = 784;

/** Sequential GET /healthz on one keep-alive connection, every few ms, until told to stop. */
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const latencies = [];
let stop = false;
parentPort.on('message', () => { stop = true; });
const once = () => new Promise((resolve, reject) => {
  const t0 = performance.now();
  http.get(workerData.url, { agent }, (res) => {
    res.resume();
    res.on('end', () => { latencies.push(performance.now() - t0); resolve(); });
  }).on('error', reject);
});
(async () => {
  while (!stop) {
    await once();
    await new Promise((r) => setTimeout(r, 5));
  }
  agent.destroy();
  parentPort.postMessage(latencies);
})().catch((err) => { throw err; });
`;

function startProbe(url: string): { stop(): Promise<number[]> } {
  const worker = new Worker(PROBE, { eval: true, workerData: { url } });
  const done = new Promise<number[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const latencies = await done;
      await worker.terminate();
      return latencies;
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function multipart(parts: { name: string; data: Buffer }[]): { body: Buffer; type: string } {
  const boundary = `----offloop${Date.now()}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.name}.gz"\r\nContent-Type: application/octet-stream\r\n\r\n`), p.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

describe('the API answers /healthz while it parses, refuses and predicts', () => {
  let stack: ProcessStack;
  let redis: Redis;
  beforeAll(async () => {
    // Default limits: BODY_LIMIT_BYTES 64 MiB, MAX_UNCOMPRESSED_BYTES 256 MiB, MAX_PREDICT_COST 2e10, one CPU thread.
    stack = await startProcessStack({ tag: 'offloop' });
    redis = new Redis(stack.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.dispose();
  });

  it('p99 < 50 ms through 60 MB CSV and 47 MB IDX uploads, a gzip bomb, a 50 MB quoted cell and two 10,000-row predicts', async () => {
    const api = stack.api;
    const post = async (path: string, body: Buffer | string, type: string) => {
      const res = await fetch(`${api.baseUrl}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    // A job whose best checkpoint has 784 × 2000 + 2000 × 10 weights (1.59 M parameters).
    const rows = 64;
    const small = `${Array.from({ length: FEATURES }, (_, c) => `f${c}`).join(',')},label\n${Array.from({ length: rows }, (_, r) => `${Array.from({ length: FEATURES }, () => ((r % 7) / 7).toFixed(2)).join(',')},${r % 10}`).join('\n')}\n`;
    const ds = await post('/v1/datasets', small, 'text/csv');
    expect(ds.status, JSON.stringify(ds.body)).toBe(201);
    const spec = { dataset: ds.body.id, model: { layers: [{ type: 'dense', units: 2000, activation: 'relu' }, { type: 'dense', units: 10 }] }, loss: 'softmax_cross_entropy', epochs: 1, batchSize: 64, seed: 1 };
    const job = await api.post<{ id: string }>('/v1/jobs', spec);
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const store = createStore(loadConfig({ KEY_PREFIX: stack.prefix, DATA_DIR: stack.dataDir, REDIS_URL: stack.redisUrl, LOG_LEVEL: 'silent', ...stack.env }), redis);
    const x = new Float32Array(rows * FEATURES).map((_, i) => (Math.floor(i / FEATURES) % 7) / 7);
    const y = Float32Array.from({ length: rows }, (_, r) => r % 10);
    await train(toTrainConfig(resolveSpec(JobSpecSchema.parse(spec))), { train: { x, y, n: rows, features: FEATURES, targetWidth: 1 }, validation: null }, {
      onBest: (e) => recordBestCheckpoint(store, job.body.id, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted }).then(() => undefined),
    });

    // Everything the API will be sent, built before the probe starts.
    const row = `[${Array.from({ length: FEATURES }, (_, c) => ((c % 10) / 10).toString()).join(',')}]`;
    const predictBody = `{"inputs":[${Array.from({ length: 10_000 }, () => row).join(',')}]}`;
    const csvRow = `${Array.from({ length: 100 }, (_, c) => (c % 9) + 0.5).join(',')},1\n`;
    const csvHeader = `${Array.from({ length: 100 }, (_, c) => `c${c}`).join(',')},label\n`;
    const bigCsv = csvHeader + csvRow.repeat(Math.floor((60 * MIB) / csvRow.length));
    const quoted = `a,label\n"${'x'.repeat(50 * MIB)}",0\n`;
    const pixels = new Uint8Array(60_000 * FEATURES).map((_, i) => (i * 37) % 256);
    const images = gzipSync(idxFile(0x08, [60_000, 28, 28], pixels), { level: 1 });
    const labels = gzipSync(idxFile(0x08, [60_000], new Uint8Array(60_000).map((_, i) => i % 10)));
    const idxUpload = multipart([{ name: 'images', data: images }, { name: 'labels', data: labels }]);
    // 270 MiB of zeros in 270 concatenated 1 MiB gzip members, with an honest header: 260 KB.
    const rest = gzipSync(new Uint8Array(MIB));
    const bomb = multipart([
      { name: 'images', data: Buffer.concat([gzipSync(idxFile(0x08, [270 * 1337, 28, 28], new Uint8Array(MIB - 16))), ...Array.from({ length: 269 }, () => rest)]) },
      { name: 'labels', data: labels },
    ]);
    expect(bigCsv.length).toBeGreaterThan(59 * MIB);

    const probe = startProbe(`${api.baseUrl}/healthz`);
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    const [csvRes, idxRes, bombRes, quotedRes, p1, p2] = await Promise.all([
      post('/v1/datasets', bigCsv, 'text/csv'),
      post('/v1/datasets', idxUpload.body, idxUpload.type),
      post('/v1/datasets', bomb.body, bomb.type),
      post('/v1/datasets', quoted, 'text/csv'),
      post(`/v1/jobs/${job.body.id}/predict`, predictBody, 'application/json'),
      post(`/v1/jobs/${job.body.id}/predict`, predictBody, 'application/json'),
    ]);
    const busyMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 200));
    const latencies = (await probe.stop()).sort((a, b) => a - b);

    expect(csvRes.status, JSON.stringify(csvRes.body)).toBe(201);
    expect(csvRes.body).toMatchObject({ features: 100, rows: Math.floor((60 * MIB) / csvRow.length) });
    expect(idxRes.status, JSON.stringify(idxRes.body)).toBe(201);
    expect(idxRes.body).toMatchObject({ rows: 60_000, features: FEATURES });
    expect(bombRes.status).toBe(413);
    expect(JSON.stringify(bombRes.body)).toContain('MAX_UNCOMPRESSED_BYTES');
    expect(quotedRes.status).toBe(400);
    for (const p of [p1, p2]) {
      expect(p.status, JSON.stringify(p.body).slice(0, 300)).toBe(200);
      expect((p.body.outputs as unknown[]).length).toBe(10_000);
    }

    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const max = latencies[latencies.length - 1] as number;
    console.log(`/healthz while busy for ${Math.round(busyMs)} ms: ${latencies.length} requests, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    expect(latencies.length).toBeGreaterThan(200);
    expect(p99).toBeLessThan(50);
  }, 180_000);
});
