// Predict with binary input over real HTTP: little-endian float32 rows (application/octet-stream)
// and IDX images (application/x-idx, gzipped or not) answer exactly what JSON rows of the same
// values answer, through fetch and through the typed client; and their bad bodies are refused with
// the field named, before anything is inflated or run.
import { watch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTraindClient } from '../../src/client/index.js';
import { train } from '../../src/core/index.js';
import { parseIdx } from '../../src/data/index.js';
import { IN_MEMORY_BODY_BYTES } from '../../src/api/small-body.js';
import { spoolDir } from '../../src/api/spool.js';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { resolveSpec, toTrainConfig } from '../../src/spec/to-train-config.js';
import { recordBestCheckpoint } from '../../src/store/checkpoints.js';
import { idxFile } from '../helpers/idx.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

const SIDE = 6;
const I = SIDE * SIDE;

/** `n` images of SIDE×SIDE pixels: class k is bright in its third of the rows, plus seeded noise. */
function images(n: number, seed: number): { pixels: Uint8Array; labels: Uint8Array } {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const pixels = new Uint8Array(n * I);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    labels[i] = k;
    for (let p = 0; p < I; p++) pixels[i * I + p] = Math.floor(rand() * 80) + (Math.floor(p / SIDE / 2) === k ? 170 : 0);
  }
  return { pixels, labels };
}

let f: AppFixture;
let base: string;
let jobId: string;

beforeAll(async () => {
  f = await appFixture({ MAX_UNCOMPRESSED_BYTES: '65536', MAX_PREDICT_ROWS: '2000' });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
  jobId = (await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() })).json().id as string;
  // A classifier trained on IDX images (bytes read as byte / 255), standardized: its checkpoint
  // carries the mean and std, so every predict format goes through them.
  const spec = {
    dataset: { builtin: 'xor' },
    model: { layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3 }] },
    loss: 'softmax_cross_entropy',
    normalize: 'standard',
    batchSize: 16,
    epochs: 3,
    seed: 5,
  };
  const { pixels, labels } = images(90, 1);
  const data = parseIdx(idxFile(0x08, [90, SIDE, SIDE], pixels), idxFile(0x08, [90], labels)).dataset;
  await train(toTrainConfig(resolveSpec(JobSpecSchema.parse(spec))), { train: data, validation: null }, {
    onBest: (e) =>
      recordBestCheckpoint(f.store, jobId, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted }).then(
        () => undefined,
      ),
  });
});

afterAll(async () => {
  await f?.close();
});

async function predict(body: string | Uint8Array, type: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}/v1/jobs/${jobId}/predict`, { method: 'POST', headers: { 'content-type': type }, body });
  return { status: res.status, text: await res.text() };
}

function float32Le(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

describe('predict with binary input', () => {
  it('answers float32 rows and IDX images (raw and gzipped) exactly as JSON rows of the same values', async () => {
    const { pixels } = images(25, 99);
    const rows = Array.from({ length: 25 }, (_, r) => Array.from(pixels.subarray(r * I, (r + 1) * I), (b) => b / 255));
    const json = await predict(JSON.stringify({ inputs: rows }), 'application/json');
    expect(json.status).toBe(200);
    const expected = JSON.parse(json.text) as { outputs: { probabilities: number[]; label: number }[] };
    expect(expected.outputs).toHaveLength(25);
    // The model learned something: not every row gets the same label.
    expect(new Set(expected.outputs.map((o) => o.label)).size).toBeGreaterThan(1);

    const f32 = await predict(float32Le(Float32Array.from(rows.flat())), 'application/octet-stream');
    expect(f32.status).toBe(200);
    expect(JSON.parse(f32.text)).toEqual(expected);

    const idx = idxFile(0x08, [25, SIDE, SIDE], pixels);
    for (const body of [idx, gzipSync(idx)]) {
      const res = await predict(body, 'application/x-idx');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual(expected);
    }
    // IDX of float32 pixels is taken as it is (as for training): the same values give the same answer.
    const floatIdx = Buffer.alloc(25 * I * 4);
    rows.flat().forEach((v, i) => floatIdx.writeFloatBE(v, 4 * i));
    expect(JSON.parse((await predict(idxFile(0x0d, [25, SIDE, SIDE], floatIdx), 'application/x-idx')).text)).toEqual(expected);

    // The typed client sends each form with its content type.
    const client = createTraindClient({ baseUrl: base });
    expect(await client.predict(jobId, Float32Array.from(rows.flat()))).toEqual(expected);
    expect(await client.predict(jobId, { idx: gzipSync(idx) })).toEqual(expected);
    expect(await client.predict(jobId, rows)).toEqual(expected);
  });

  it('refuses bad binary bodies naming what is wrong, before inflating or running them', async () => {
    const cases: { name: string; body: Uint8Array; type: string; status: number; code: string; path: string; says: string }[] = [
      { name: 'not a whole row', body: new Uint8Array(I * 4 + 2), type: 'application/octet-stream', status: 400, code: 'invalid_inputs', path: 'body', says: `${I * 4 + 2} bytes` },
      { name: 'empty', body: new Uint8Array(0), type: 'application/octet-stream', status: 400, code: 'invalid_inputs', path: 'body', says: `${I} float32 values = ${I * 4} bytes` },
      { name: 'NaN', body: float32Le(Float32Array.from({ length: 2 * I }, (_, i) => (i === I + 3 ? NaN : 0.5))), type: 'application/octet-stream', status: 400, code: 'invalid_request', path: 'inputs.1.3', says: 'NaN' },
      { name: 'too many float32 rows', body: new Uint8Array(2001 * I * 4), type: 'application/octet-stream', status: 400, code: 'invalid_inputs', path: 'inputs', says: 'MAX_PREDICT_ROWS' },
      { name: 'images of another shape', body: idxFile(0x08, [2, 5, 5], new Uint8Array(50)), type: 'application/x-idx', status: 400, code: 'invalid_inputs', path: 'images.header', says: 'shape [5, 5] = 25 values each; the model takes 36' },
      { name: 'not IDX', body: new TextEncoder().encode('hello, world'), type: 'application/x-idx', status: 400, code: 'invalid_inputs', path: 'images.header', says: 'not an IDX file' },
      { name: 'header and data disagree', body: idxFile(0x08, [3, SIDE, SIDE], new Uint8Array(2 * I)), type: 'application/x-idx', status: 400, code: 'invalid_inputs', path: 'images.header', says: 'but the file has' },
      // Declared from the header: refused before the body is inflated.
      { name: 'too many images', body: gzipSync(idxFile(0x08, [2001, SIDE, SIDE], new Uint8Array(2001 * I))), type: 'application/x-idx', status: 400, code: 'invalid_inputs', path: 'inputs', says: 'MAX_PREDICT_ROWS' },
      { name: 'inflates past MAX_UNCOMPRESSED_BYTES', body: gzipSync(idxFile(0x08, [1900, SIDE, SIDE], new Uint8Array(1900 * I))), type: 'application/x-idx', status: 413, code: 'payload_too_large', path: 'images', says: 'MAX_UNCOMPRESSED_BYTES = 65536' },
    ];
    for (const c of cases) {
      const res = await predict(c.body, c.type);
      expect(res.status, c.name).toBe(c.status);
      const err = errorOf(res.text);
      expect(err.code, c.name).toBe(c.code);
      expect(err.details.path, c.name).toBe(c.path);
      expect(err.message, c.name).toContain(c.says);
    }
    const plain = await predict('0.5,0.5', 'text/plain');
    expect(plain.status).toBe(415);
  });

  it('reads bodies of at most 64 KiB into memory and spools larger ones, with the same answers', async () => {
    const { pixels } = images(600, 7);
    const values = Float32Array.from(pixels, (b) => b / 255);
    const rowBytes = I * 4;
    const fits = Math.floor(IN_MEMORY_BODY_BYTES / rowBytes);
    // Files created under DATA_DIR/tmp while each request runs (inotify sees every create).
    const dir = spoolDir(f.dataDir);
    await mkdir(dir, { recursive: true });
    const created: string[] = [];
    const watcher = watch(dir, (event, name) => {
      if (event === 'rename' && name !== null) created.push(name);
    });
    try {
      const whole = await predict(float32Le(values), 'application/octet-stream');
      expect(whole.status).toBe(200);
      expect(values.length * 4).toBeGreaterThan(IN_MEMORY_BODY_BYTES);
      await new Promise((r) => setTimeout(r, 50));
      expect(created.length).toBeGreaterThan(0);

      created.length = 0;
      const parts: unknown[] = [];
      for (let r = 0; r < 600; r += fits) {
        const part = values.subarray(r * I, Math.min(600, r + fits) * I);
        const res = await predict(float32Le(part), 'application/octet-stream');
        expect(res.status).toBe(200);
        parts.push(...(JSON.parse(res.text) as { outputs: unknown[] }).outputs);
      }
      // The largest in-memory body is exactly at the limit or just under it; a one-row JSON body too.
      const oneRow = await predict(JSON.stringify({ inputs: [Array.from(values.subarray(0, I))] }), 'application/json');
      expect(oneRow.status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      expect(created).toEqual([]);
      expect(parts).toEqual((JSON.parse(whole.text) as { outputs: unknown[] }).outputs);
      expect((JSON.parse(oneRow.text) as { outputs: unknown[] }).outputs[0]).toEqual(parts[0]);
    } finally {
      watcher.close();
    }
  });
});
