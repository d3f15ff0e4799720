// Metrics polling, SSE with Last-Event-ID, checkpoint downloads (ETag/304) and predict, with the
// worker's effects produced through the store (and a real checkpoint from the core's train()).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, predict, selectKernels, train } from '../../src/core/node.js';
import { builtinDataset } from '../../src/data/index.js';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { resolveSpec, toTrainConfig } from '../../src/spec/to-train-config.js';
import { recordBestCheckpoint, saveCheckpoint } from '../../src/store/checkpoints.js';
import { checkpointKey } from '../../src/store/object-keys.js';
import { recordEpoch, transitionJob, type MetricsRecord } from '../../src/store/jobs.js';
import { damageObject, objectBytes } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

function rec(epoch: number): MetricsRecord {
  return { epoch, step: epoch * 4, loss: 1 / epoch, accuracy: 0.5, lr: 0.05, seconds: 0.01, samplesPerSec: 400, attempt: 1 };
}

interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads an SSE response to its end (or until `stopAfter` events), over real HTTP. */
function readSse(port: number, path: string, headers: Record<string, string> = {}, stopAfter = Infinity): Promise<{ status: number; events: SseEvent[]; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      const events: SseEvent[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
          if (fields.data !== undefined) events.push({ id: fields.id ?? '', event: fields.event ?? '', data: JSON.parse(fields.data) });
          if (events.length >= stopAfter) {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, events, type: String(res.headers['content-type']) });
          }
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, events, type: String(res.headers['content-type']) }));
    });
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
  });
}

describe('job results', () => {
  let f: AppFixture;
  let port: number;
  beforeAll(async () => {
    f = await appFixture();
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    port = (f.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await f.close();
  });

  async function runningJob(): Promise<string> {
    const id = (await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() })).json().id as string;
    await transitionJob(f.store, id, 'running', { attempt: 1 });
    return id;
  }

  it('pages metrics with a cursor that never skips or repeats, while records keep arriving', async () => {
    const id = await runningJob();
    for (let e = 1; e <= 4; e++) await recordEpoch(f.store, id, rec(e), 9);
    const seen: number[] = [];
    let after: string | null = null;
    const poll = async () => {
      const res = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/metrics?limit=3${after ? `&after=${after}` : ''}` });
      expect(res.statusCode).toBe(200);
      const page = res.json() as { items: MetricsRecord[]; nextCursor: string | null };
      seen.push(...page.items.map((m) => m.epoch));
      after = page.nextCursor;
      return page.items.length;
    };
    await poll();
    for (let e = 5; e <= 9; e++) await recordEpoch(f.store, id, rec(e), 9);
    await transitionJob(f.store, id, 'completed', { reason: 'max_epochs' });
    while ((await poll()) > 0);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const first = (await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/metrics` })).json();
    expect(first.items[0]).toEqual(rec(1));
    expect((await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/metrics?after=bogus` })).statusCode).toBe(400);
  });

  it('streams events over SSE to the terminal status, and resumes exactly after Last-Event-ID', async () => {
    const id = await runningJob();
    await recordEpoch(f.store, id, rec(1), 3);
    const live = readSse(port, `/v1/jobs/${id}/events`);
    await new Promise((r) => setTimeout(r, 150));
    await recordEpoch(f.store, id, rec(2), 3);
    await recordEpoch(f.store, id, rec(3), 3);
    await transitionJob(f.store, id, 'completed', { reason: 'max_epochs' });
    const all = await live;
    expect(all.status).toBe(200);
    expect(all.type).toMatch(/text\/event-stream/);
    expect(all.events.map((e) => [e.event, e.data.status ?? e.data.epoch])).toEqual([
      ['status', 'queued'],
      ['status', 'running'],
      ['metrics', 1],
      ['metrics', 2],
      ['metrics', 3],
      ['status', 'completed'],
    ]);
    const cut = all.events[2]!.id;
    const rest = await readSse(port, `/v1/jobs/${id}/events`, { 'Last-Event-ID': cut });
    expect(rest.events.map((e) => e.id)).toEqual(all.events.slice(3).map((e) => e.id));
    const none = await readSse(port, `/v1/jobs/${id}/events`, { 'Last-Event-ID': all.events[5]!.id });
    expect(none.events).toEqual([]);
    // 204 tells an EventSource the stream is over for good (an empty 200 would make it reconnect forever).
    expect(none.status).toBe(204);
  });

  it('reads a watched job on one shared blocking reader for all its clients, and stops when they leave', async () => {
    const id = await runningJob();
    // Blocked XREADs of this app's SSE shards (named `<connection name>:sse-<i>`, flag b = blocked).
    const readers = async () =>
      ((await f.redis.client('LIST')) as string)
        .split('\n')
        .filter((l) => / flags=\w*b/.test(l) && l.includes(`name=traind:test-${f.config.keyPrefix}:sse-`)).length;
    const baseline = await readers();
    // Each client's SSE frames as they arrive, so a test can wait for a given epoch instead of sleeping.
    const open = () =>
      new Promise<{ req: http.ClientRequest; text: () => string }>((resolve) => {
        let text = '';
        const req = http.get({ host: '127.0.0.1', port, path: `/v1/jobs/${id}/events` });
        req.on('error', () => undefined);
        req.on('response', (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.once('data', () => resolve({ req, text: () => text }));
        });
      });
    const a = await open();
    const b = await open();
    // Both clients are caught up; the shared reader blocks once they are followed live.
    await waitFor(async () => (await readers()) > baseline, { timeoutMs: 5000, intervalMs: 20, what: 'a blocked SSE reader' });
    expect(await readers()).toBe(baseline + 1);
    a.req.destroy();
    // b is still served live after a left (it receives a new epoch), by the same single reader.
    await recordEpoch(f.store, id, rec(1), 9);
    await waitFor(() => b.text().includes('"epoch":1'), { timeoutMs: 5000, intervalMs: 20, what: 'epoch 1 at the remaining client' });
    await waitFor(async () => (await readers()) > baseline, { timeoutMs: 5000, intervalMs: 20, what: 'the reader blocking again' });
    expect(await readers()).toBe(baseline + 1);
    b.req.destroy();
    await waitFor(async () => (await readers()) === baseline, { timeoutMs: 5000, intervalMs: 20, what: 'the reader released' });
  });

  it('a client joining a running feed from an older Last-Event-ID gets every entry once, in order', async () => {
    const id = await runningJob();
    await recordEpoch(f.store, id, rec(1), 6);
    const first = readSse(port, `/v1/jobs/${id}/events`);
    await new Promise((r) => setTimeout(r, 150));
    await recordEpoch(f.store, id, rec(2), 6);
    await recordEpoch(f.store, id, rec(3), 6);
    await new Promise((r) => setTimeout(r, 150));
    const page = (await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/metrics?limit=1` })).json();
    const late = readSse(port, `/v1/jobs/${id}/events`, { 'Last-Event-ID': page.nextCursor });
    await new Promise((r) => setTimeout(r, 150));
    for (let e = 4; e <= 6; e++) await recordEpoch(f.store, id, rec(e), 6);
    await transitionJob(f.store, id, 'completed', { reason: 'max_epochs' });
    const [all, rest] = await Promise.all([first, late]);
    const epochs = (evs: SseEvent[]) => evs.filter((e) => e.event === 'metrics').map((e) => e.data.epoch);
    expect(epochs(all.events)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(epochs(rest.events)).toEqual([2, 3, 4, 5, 6]);
    expect(rest.events.at(-1)!.data.status).toBe('completed');
    const ids = rest.events.map((e) => e.id);
    expect(ids).toEqual(all.events.slice(all.events.length - ids.length).map((e) => e.id));
  });

  it('ends open event streams when the app closes', async () => {
    const g = await appFixture();
    await g.app.listen({ host: '127.0.0.1', port: 0 });
    const gPort = (g.app.server.address() as AddressInfo).port;
    const id = (await g.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() })).json().id as string;
    let opened: () => void = () => undefined;
    const streaming = new Promise<void>((resolve) => (opened = resolve));
    const ended = new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port: gPort, path: `/v1/jobs/${id}/events` }, (res) => {
        res.once('data', () => opened());
        res.resume();
        res.on('end', () => resolve(Date.now()));
      });
    });
    await streaming;
    const t0 = Date.now();
    await g.close();
    expect((await ended) - t0).toBeLessThan(3000);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('serves checkpoints with ETag, 304 on If-None-Match, and predicts from the best one', async () => {
    const body = xorSpec({ epochs: 30, learningRate: 0.1 });
    const id = await runningJob();
    const spec = resolveSpec(JobSpecSchema.parse(body));
    const data = builtinDataset('xor');
    await train(toTrainConfig(spec), { train: data.dataset, validation: null }, {
      onBest: async (e) => {
        await recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted });
      },
    });
    const list = (await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints` })).json();
    expect(list.items.length).toBe(1);
    const best = list.items[0];
    expect(best).toMatchObject({ best: true, monitor: 'loss' });
    const dl = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints/best` });
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('application/octet-stream');
    expect(dl.headers.etag).toBe(`"${best.sha256}"`);
    expect(dl.headers['content-disposition']).toBe(`attachment; filename="${id}-epoch-${best.epoch}.safetensors"`);
    expect(dl.rawPayload.length).toBe(best.size);
    const byEpoch = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints/${best.epoch}` });
    expect(byEpoch.rawPayload.equals(dl.rawPayload)).toBe(true);
    const cached = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints/best`, headers: { 'if-none-match': `"${best.sha256}"` } });
    expect(cached.statusCode).toBe(304);
    expect(cached.rawPayload.length).toBe(0);
    expect((await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints/9999` })).statusCode).toBe(404);

    const inputs = [[0, 0], [0, 1], [1, 0], [1, 1]];
    const res = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: { inputs } });
    expect(res.statusCode).toBe(200);
    const out = res.json();
    const ckpt = loadCheckpoint(new Uint8Array(dl.rawPayload), selectKernels({ threads: 1 }));
    const want = predict(ckpt, Float32Array.from(inputs.flat()), 4);
    expect(out.outputs).toHaveLength(4);
    out.outputs.forEach((o: { probabilities: number[]; label: number }, r: number) => {
      const row = Array.from(want.outputs.subarray(r * 2, r * 2 + 2));
      expect(o.probabilities).toEqual(row);
      expect(o.label).toBe(row[1]! > row[0]! ? 1 : 0);
    });
    expect(out.checkpoint).toEqual({ epoch: best.epoch, sha256: best.sha256 });
    const bad = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: { inputs: [[0, 0], [1, 2, 3]] } });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad.body).details.path).toBe('inputs.1');
  });

  it('verifies checkpoint bytes on every read: a damaged, truncated or missing file is checkpoint_corrupt for download and predict', async () => {
    const body = xorSpec({ epochs: 3 });
    const id = await runningJob();
    await train(toTrainConfig(resolveSpec(JobSpecSchema.parse(body))), { train: builtinDataset('xor').dataset, validation: null }, {
      onBest: (e) => recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted }).then(() => undefined),
    });
    const best = (await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints` })).json().items[0];
    const key = checkpointKey(id, best.epoch);
    const original = await objectBytes(f.store.storage, key);
    const inputs = { inputs: [[0, 1]] };
    const download = () => f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints/best` });
    const predictOnce = () => f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: inputs });
    const good = await predictOnce();
    expect(good.statusCode).toBe(200);
    const expectCorrupt = async (reason: RegExp) => {
      for (const res of [await download(), await predictOnce()]) {
        expect(res.statusCode).toBe(500);
        const e = errorOf(res.body);
        expect(e.code).toBe('checkpoint_corrupt');
        expect(e.message).toMatch(reason);
        expect((e.details as { epoch?: number }).epoch).toBe(best.epoch);
      }
    };

    // One tensor byte changed in place, same size: the model in memory must not answer for it.
    const flipped = Buffer.from(original);
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 2) ^ 0x40, flipped.length - 2);
    await damageObject(f.store.storage, key, flipped);
    await expectCorrupt(/sha256 [0-9a-f]{64} on disk, [0-9a-f]{64} recorded/);

    await damageObject(f.store.storage, key, original.subarray(0, original.length - 100));
    await expectCorrupt(new RegExp(`${original.length - 100} bytes on disk, ${best.size} recorded`));

    // The right bytes back: served and predicted again, with the same answer as before.
    await damageObject(f.store.storage, key, original);
    const again = await download();
    expect(again.statusCode).toBe(200);
    expect(again.rawPayload.equals(original)).toBe(true);
    expect((await predictOnce()).json()).toEqual(good.json());

    await f.store.storage.delete(key);
    await expectCorrupt(/the file is missing/);
  });

  it('parses checkpoint epochs strictly: 6.0, 6e0, 0x6, " 6", 06 and "" are not epoch 6 or 0', async () => {
    const id = await runningJob();
    for (const epoch of [0, 6]) await saveCheckpoint(f.store, id, { tenant: 'default', epoch, step: epoch, monitor: 'loss', value: 1, bytes: new Uint8Array([epoch, 1, 2]) });
    for (const epoch of ['0', '6']) {
      const res = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints/${epoch}` });
      expect(res.statusCode, epoch).toBe(200);
      expect(res.headers['x-checkpoint-epoch']).toBe(epoch);
    }
    for (const epoch of ['6.0', '6e0', '0x6', '%206', '06', '+6', '']) {
      const res = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/checkpoints/${epoch}` });
      expect(res.statusCode, JSON.stringify(epoch)).toBe(400);
      expect(errorOf(res.body).details.path, epoch).toBe('epoch');
    }
  });

  it('refuses a metrics or SSE cursor beyond what a Redis stream id can hold with 400, and the largest one reads nothing', async () => {
    const id = await runningJob();
    await recordEpoch(f.store, id, rec(1), 9);
    for (const after of ['99999999999999999999-99999999999999999999', '18446744073709551616-0', '0-18446744073709551616']) {
      const res = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/metrics?after=${after}` });
      expect(res.statusCode, after).toBe(400);
      expect(errorOf(res.body).details.path).toBe('after');
      const sse = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/events`, headers: { 'last-event-id': after } });
      expect(sse.statusCode, after).toBe(400);
    }
    const max = '18446744073709551615-18446744073709551615';
    const last = await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}/metrics?after=${max}` });
    expect(last.statusCode).toBe(200);
    expect(last.json()).toEqual({ items: [], nextCursor: max });
  });

  it('predict before any checkpoint is 409; a regression model answers values', async () => {
    const id = await runningJob();
    const none = await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: { inputs: [[0, 0]] } });
    expect(none.statusCode).toBe(409);
    expect(errorOf(none.body).code).toBe('no_checkpoint');

    const body = { dataset: { builtin: 'sine' }, model: { layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 1 }] }, loss: 'mse', epochs: 2 };
    const rid = (await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: body })).json().id as string;
    const spec = resolveSpec(JobSpecSchema.parse(body));
    await train(toTrainConfig(spec), { train: builtinDataset('sine').dataset, validation: null }, {
      onBest: (e) => recordBestCheckpoint(f.store, rid, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted }).then(() => undefined),
    });
    const res = await f.app.inject({ method: 'POST', url: `/v1/jobs/${rid}/predict`, payload: { inputs: [[0.5]] } });
    expect(res.statusCode).toBe(200);
    expect(res.json().outputs[0].value).toHaveLength(1);
  });
});
