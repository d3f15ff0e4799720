// SSE at scale: many followed jobs share SSE_REDIS_CONNECTIONS blocking Redis connections (counted
// with CLIENT LIST by this test's connection names) plus one pub/sub connection for progress, and
// every client still gets each record once.
import http from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEpoch, transitionJob } from '../../src/store/jobs.js';
import { appFixture, xorSpec, type AppFixture } from './helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';

const JOBS = 100;
const CLIENTS_PER_JOB = 2;
const CONNECTIONS = 2;
const EPOCHS = 3;

let f: AppFixture;
let port: number;

beforeAll(async () => {
  f = await appFixture({ SSE_REDIS_CONNECTIONS: String(CONNECTIONS), MAX_QUEUED_JOBS_PER_TENANT: '100000', RATE_LIMIT_MAX: '10000000' });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = f.app.server.address();
  port = typeof addr === 'object' && addr !== null ? addr.port : 0;
});

afterAll(async () => {
  await f?.close();
});

/** Names of this server's Redis connections: the fixture's and every duplicate of it. */
async function ourConnections(redis: Redis, name: string): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((n) => n === name || n.startsWith(`${name}:`));
}

interface Client {
  ids: string[];
  /** Resolves when the response headers and the first bytes arrived. */
  open: Promise<void>;
  ended: Promise<void>;
  req: http.ClientRequest;
}

function follow(jobId: string): Client {
  const ids: string[] = [];
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  let req!: http.ClientRequest;
  const ended = new Promise<void>((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port, path: `/v1/jobs/${jobId}/events`, agent: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        opened();
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const id = /^id: (\S+)$/m.exec(buf.slice(0, end))?.[1];
          if (id !== undefined) ids.push(id);
          buf = buf.slice(end + 2);
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return { ids, open, ended, req };
}

describe('SSE clients of many jobs', () => {
  it(`share ${CONNECTIONS} blocking Redis connections, and each gets every record of its job once, in order`, async () => {
    const name = f.redis.options.connectionName as string;
    const before = await ourConnections(f.redis, name);

    const jobIds: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ epochs: EPOCHS }) });
      expect(res.statusCode).toBe(201);
      const id = res.json<{ id: string }>().id;
      await transitionJob(f.store, id, 'running', { attempt: 1 });
      jobIds.push(id);
    }
    const clients = jobIds.flatMap((id) => Array.from({ length: CLIENTS_PER_JOB }, () => ({ jobId: id, ...follow(id) })));
    try {
      await Promise.all(clients.map((c) => c.open));
      // Opened streams subscribe after their catch-up read: wait for the first shard, give the rest a moment, then count.
      await waitFor(async () => (await ourConnections(f.redis, name)).some((n) => /:sse-\d+$/.test(n)), { timeoutMs: 10_000, intervalMs: 50, what: 'an SSE shard connection' });
      await sleep(300);
      const during = await ourConnections(f.redis, name);
      expect(during.length - before.length, 'new Redis connections while following').toBeLessThanOrEqual(CONNECTIONS + 1);
      // Progress: one subscriber connection, subscribed to the channels of the followed jobs only.
      expect(during.filter((n) => n.endsWith(':progress'))).toHaveLength(1);
      // A stream subscribes once it has caught up: wait for all of them.
      const progressChannels = async () => ((await f.redis.pubsub('CHANNELS', f.store.keys.progressChannel('*'))) as string[]).sort();
      await waitFor(async () => (await progressChannels()).length >= JOBS, { timeoutMs: 10_000, intervalMs: 50, what: 'every followed job\'s progress channel' });
      expect(await progressChannels()).toEqual(jobIds.map((id) => f.store.keys.progressChannel(id)).sort());
      expect((await ourConnections(f.redis, name)).filter((n) => n.endsWith(':progress'))).toHaveLength(1);
      const sse = during.filter((n) => /:sse-\d+$/.test(n));
      expect(sse.length, `SSE connections: ${sse.join(', ')}`).toBeGreaterThanOrEqual(1);
      expect(sse.length).toBeLessThanOrEqual(CONNECTIONS);

      for (let epoch = 1; epoch <= EPOCHS; epoch++) {
        for (const id of jobIds) {
          await recordEpoch(f.store, id, { epoch, step: epoch, loss: 1, lr: 0.1, seconds: 0.01, samplesPerSec: 1, attempt: 1 } as never, EPOCHS);
        }
      }
      for (const id of jobIds) await transitionJob(f.store, id, 'completed', { attempt: 1, reason: 'max_epochs' });
      await waitFor(async () => clients.every((c) => c.ids.length >= EPOCHS + 1), { timeoutMs: 10_000, intervalMs: 50, what: 'every client to get every record' });
      await Promise.all(clients.map((c) => c.ended));

      for (const c of clients) {
        const stream = await f.redis.xrange(f.store.keys.stream(c.jobId), '-', '+');
        expect(stream.filter(([, fields]) => fields.includes('metrics'))).toHaveLength(EPOCHS);
        // Each client started from the beginning: all of the stream, once, in order.
        expect(c.ids).toEqual(stream.map(([id]) => id));
      }
      expect((await ourConnections(f.redis, name)).length - before.length).toBeLessThanOrEqual(CONNECTIONS + 1);
      // Every client gone: no job's progress is listened to any more.
      await waitFor(async () => ((await f.redis.pubsub('CHANNELS', f.store.keys.progressChannel('*'))) as string[]).length === 0, {
        timeoutMs: 5_000,
        intervalMs: 50,
        what: 'the progress channels to be unsubscribed',
      });
    } finally {
      for (const c of clients) c.req.destroy();
    }
  });
});
