// The routes where a real socket matters, through supertest over the app's own HTTP server:
// multipart uploads, streamed checkpoint downloads (Content-Length, ETag, 304) and server-sent
// events, as a client library sees them on the wire rather than through Fastify's inject.
import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordBestCheckpoint } from '../../src/store/checkpoints.js';
import { recordEpoch, transitionJob, type MetricsRecord } from '../../src/store/jobs.js';
import { idxFile } from '../helpers/idx.js';
import { appFixture, xorSpec, type AppFixture } from './helpers.js';

let f: AppFixture;

beforeAll(async () => {
  f = await appFixture();
  await f.app.ready();
});

afterAll(async () => {
  await f.close();
});

function binary(res: request.Response, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

async function finishedJob(epochs: number): Promise<string> {
  const id = (await request(f.app.server).post('/v1/jobs').send(xorSpec()).expect(201)).body.id as string;
  await transitionJob(f.store, id, 'running', { attempt: 1 });
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const rec: MetricsRecord = { epoch, step: epoch * 4, loss: 1 / epoch, accuracy: 0.5, lr: 0.05, seconds: 0.01, samplesPerSec: 400, attempt: 1 };
    await recordEpoch(f.store, id, rec, epochs);
  }
  await transitionJob(f.store, id, 'completed', { reason: 'max_epochs' });
  return id;
}

function frames(text: string): { id: string; event: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .map((block) => Object.fromEntries(block.split('\n').filter((l) => l.includes(': ') && !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)])))
    .filter((fields) => fields.data !== undefined)
    .map((fields) => ({ id: String(fields.id), event: String(fields.event), data: JSON.parse(String(fields.data)) as Record<string, unknown> }));
}

describe('over a real socket (supertest)', () => {
  it('takes a multipart IDX upload (images + labels)', async () => {
    const n = 30;
    const pixels = new Uint8Array(n * 4).map((_, i) => (i * 37) % 256);
    const labels = new Uint8Array(n).map((_, i) => i % 3);
    const res = await request(f.app.server)
      .post('/v1/datasets?name=tiny-idx')
      .attach('images', idxFile(0x08, [n, 2, 2], pixels), 'images.idx')
      .attach('labels', idxFile(0x08, [n], labels), 'labels.idx')
      .expect(201);
    expect(res.headers.location).toBe(`/v1/datasets/${res.body.id}`);
    expect(res.body).toMatchObject({ rows: n, features: 4, classes: 3, task: 'classification', name: 'tiny-idx' });
  });

  it('streams a checkpoint with its length and ETag, and answers 304 without a body when unchanged', async () => {
    const id = (await request(f.app.server).post('/v1/jobs').send(xorSpec()).expect(201)).body.id as string;
    const bytes = randomBytes(300_000);
    await recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: 2, step: 8, monitor: 'val_loss', value: 0.5, bytes, bestEpoch: 2, evicted: [] });
    const sha = createHash('sha256').update(bytes).digest('hex');

    const res = await request(f.app.server).get(`/v1/jobs/${id}/checkpoints/best`).buffer(true).parse(binary).expect(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(Number(res.headers['content-length'])).toBe(bytes.length);
    expect(res.headers.etag).toBe(`"${sha}"`);
    expect(res.headers['x-checkpoint-epoch']).toBe('2');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${id}-epoch-2.safetensors"`);
    expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);

    const again = await request(f.app.server).get(`/v1/jobs/${id}/checkpoints/best`).set('If-None-Match', `"${sha}"`).buffer(true).parse(binary).expect(304);
    expect((again.body as Buffer).length).toBe(0);
  });

  it('sends a finished job\'s events as text/event-stream and resumes after Last-Event-ID', async () => {
    const id = await finishedJob(3);
    const all = await request(f.app.server).get(`/v1/jobs/${id}/events`).buffer(true).parse((res, done) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => done(null, text));
    });
    expect(all.status).toBe(200);
    expect(all.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = frames(all.body as string);
    expect(events.filter((e) => e.event === 'metrics').map((e) => e.data.epoch)).toEqual([1, 2, 3]);
    expect(events.at(-1)).toMatchObject({ event: 'status', data: { status: 'completed' } });

    const second = events.find((e) => e.event === 'metrics' && e.data.epoch === 2);
    const rest = await request(f.app.server)
      .get(`/v1/jobs/${id}/events`)
      .set('Last-Event-ID', second!.id)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => done(null, text));
      });
    expect(frames(rest.body as string).map((e) => e.id)).toEqual(events.slice(events.indexOf(second!) + 1).map((e) => e.id));

    // Caught up on a finished job: 204, so EventSource stops reconnecting.
    await request(f.app.server).get(`/v1/jobs/${id}/events`).set('Last-Event-ID', events.at(-1)!.id).expect(204);
  });
});
