// A sweep's event stream, live over a real socket: each new event reaches a following client as it
// is written, through the process's event hub (as job events do), and while the sweep is quiet the
// API sends Redis nothing for that client on its command connection (it used to read the stream
// with XRANGE every 250 ms per client).
import http from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { appFixture, xorSpec, type AppFixture } from './helpers.js';

let f: AppFixture;
let port: number;
/** A connection of the test's own, for CLIENT LIST. */
let observer: Redis;

beforeAll(async () => {
  f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '1000' });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = f.app.server.address();
  port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  observer = f.redis.duplicate({ connectionName: `observer-${f.config.keyPrefix}` });
});

afterAll(async () => {
  observer?.disconnect();
  await f?.close();
});

/** Seconds since the API's command connection (the fixture's, by its name) last ran a command. */
async function commandConnectionIdleSeconds(): Promise<number> {
  const name = f.redis.options.connectionName;
  const line = ((await observer.client('LIST')) as string).split('\n').find((l) => / name=(\S*)/.exec(l)?.[1] === name);
  return Number(/ idle=(\d+)/.exec(line ?? '')?.[1] ?? -1);
}

function follow(sweepId: string): { types: string[]; ended: Promise<void> } {
  const types: string[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: `/v1/sweeps/${sweepId}/events`, agent: false }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          for (const m of chunk.matchAll(/^event: (.*)$/gm)) types.push(m[1] as string);
        });
        res.on('end', () => resolve());
      })
      .on('error', reject);
  });
  return { types, ended };
}

describe('GET /v1/sweeps/:id/events, live', () => {
  it('delivers new events as they are written and polls nothing while the sweep is quiet', async () => {
    const submitted = await f.app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: {
        base: xorSpec(),
        space: { learningRate: { loguniform: [1e-3, 1e-1] } },
        maxTrials: 4,
        parallelism: 2,
        objective: { metric: 'loss', mode: 'min' },
        seed: 3,
      },
    });
    expect(submitted.statusCode).toBe(201);
    const sweepId = (submitted.json() as { id: string }).id;

    const client = follow(sweepId);
    await waitFor(() => client.types.length >= 2, { timeoutMs: 10_000, what: 'the two trial_started events' });
    expect(client.types).toEqual(['trial_started', 'trial_started']);

    // Nothing happens for 2.5 s (no worker runs the trials): the command connection stays idle.
    const quietFrom = await commandConnectionIdleSeconds();
    await new Promise((r) => setTimeout(r, 2500));
    expect(await commandConnectionIdleSeconds()).toBeGreaterThanOrEqual(quietFrom + 2);

    // A cancel writes the trials' ends and the sweep's: the client gets them, and the stream ends.
    expect((await f.app.inject({ method: 'POST', url: `/v1/sweeps/${sweepId}/cancel` })).statusCode).toBe(202);
    await client.ended;
    expect(client.types).toEqual(['trial_started', 'trial_started', 'trial_finished', 'trial_finished', 'sweep_finished']);
  });
});
