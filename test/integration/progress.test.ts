// Within-epoch `progress` events over real HTTP from a real trainer through real Redis pub/sub:
// seen during a multi-second epoch, throttled, without an `id:` line, and nowhere in what is
// stored (the metrics stream and its pages); and watching changes no checkpoint byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG_EPOCH_STEPS, longEpochSpec, uploadLongEpochDataset } from '../helpers/long-epochs.js';
import { api, startStack, waitForJob, type Stack } from './stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});

afterAll(async () => {
  await stack?.stop();
});

interface Frame {
  /** Every line of the frame as sent, comments excluded. */
  lines: string[];
  event: string;
  data: Record<string, unknown>;
  /** ms since the stream opened. */
  at: number;
}

/** The raw frames of a job's event stream until the server ends it. */
async function rawFrames(jobId: string, timeoutMs = 120_000): Promise<Frame[]> {
  const opened = performance.now();
  const res = await fetch(`${stack.baseUrl}/v1/jobs/${jobId}/events`, { signal: AbortSignal.timeout(timeoutMs) });
  expect(res.status).toBe(200);
  const frames: Frame[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const lines = buffer.slice(0, end).split('\n').filter((l) => !l.startsWith(':'));
      buffer = buffer.slice(end + 2);
      const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      const data = field('data');
      if (data === undefined) continue;
      frames.push({ lines, event: field('event') ?? '', data: JSON.parse(data) as Record<string, unknown>, at: performance.now() - opened });
    }
  }
  return frames;
}

async function checkpointBytes(jobId: string): Promise<Buffer> {
  const res = await fetch(`${stack.baseUrl}/v1/jobs/${jobId}/checkpoints/best`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('SSE progress events', () => {
  it('arrive during a multi-second epoch, throttled, without id, and are never stored; a watcher changes no checkpoint byte', async () => {
    const dataset = await uploadLongEpochDataset(stack.baseUrl);
    const spec = longEpochSpec(dataset, 2);
    const watched = (await api<{ id: string }>(stack, 'POST', '/v1/jobs', spec)).body.id;
    // The same spec again, trained after the first (one worker) with nobody watching.
    const unwatched = (await api<{ id: string }>(stack, 'POST', '/v1/jobs', spec)).body.id;

    await waitForJob(stack, watched, (j: { status: string }) => j.status === 'running', 60_000);
    const frames = await rawFrames(watched);
    const progress = frames.filter((f) => f.event === 'progress');
    const stored = frames.filter((f) => f.event !== 'progress');

    // A couple of seconds per epoch at ≤ 4 a second: several, with every field of the right type.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (const p of progress) {
      expect(p.lines.some((l) => l.startsWith('id:'))).toBe(false);
      expect(Object.keys(p.data).sort()).toEqual(['epoch', 'eta', 'loss', 'samplesPerSec', 'step', 'stepsPerEpoch']);
      expect([1, 2]).toContain(p.data.epoch);
      expect(p.data.stepsPerEpoch).toBe(LONG_EPOCH_STEPS);
      expect(Number.isInteger(p.data.step) && (p.data.step as number) >= 1 && (p.data.step as number) <= LONG_EPOCH_STEPS).toBe(true);
      for (const k of ['loss', 'samplesPerSec', 'eta']) expect(Number.isFinite(p.data[k])).toBe(true);
      expect(p.data.samplesPerSec as number).toBeGreaterThan(0);
      expect(p.data.eta as number).toBeGreaterThanOrEqual(0);
    }
    // Steps only grow within an epoch, and the ETA shrinks with them.
    for (let i = 1; i < progress.length; i++) {
      const [a, b] = [progress[i - 1]!.data, progress[i]!.data];
      if (a.epoch === b.epoch) expect(b.step as number).toBeGreaterThan(a.step as number);
    }
    // At most about 4 a second: published ≥ 250 ms apart, so any one-second window holds at most
    // 4 (6 allowed for delivery jitter).
    for (const p of progress) expect(progress.filter((q) => q.at >= p.at && q.at < p.at + 1000).length).toBeLessThanOrEqual(6);

    // Every other frame is a stored entry with its id; the stream holds those and nothing else.
    expect(stored.every((f) => f.lines.some((l) => l.startsWith('id: ')))).toBe(true);
    expect(stored.filter((f) => f.event === 'metrics').map((f) => f.data.epoch)).toEqual([1, 2]);
    const entries = await stack.redis.xrange(`${stack.config.keyPrefix}:job:${watched}:stream`, '-', '+');
    expect(entries.length).toBe(stored.length);
    expect(entries.every(([, fields]) => fields[fields.indexOf('type') + 1] !== 'progress')).toBe(true);
    const page = await api<{ items: Record<string, unknown>[] }>(stack, 'GET', `/v1/jobs/${watched}/metrics`);
    expect(page.body.items.map((m) => m.epoch)).toEqual([1, 2]);
    expect(page.body.items.every((m) => !('stepsPerEpoch' in m) && !('eta' in m))).toBe(true);

    // Same spec and seed, watched or not: the same checkpoint bytes.
    await waitForJob(stack, unwatched, (j: { status: string }) => j.status === 'completed', 120_000);
    expect(Buffer.compare(await checkpointBytes(watched), await checkpointBytes(unwatched))).toBe(0);
  }, 240_000);
});
