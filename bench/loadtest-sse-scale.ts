// `npm run loadtest:sse`: 2,000 SSE clients over 1,000 jobs against a real API and redis-server on
// loopback; reports the API's Redis connections, file descriptors and RSS before/during/after, and
// checks that every client got every record of its job exactly once, in order. Exit 1 if not.

import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import { recordEpoch, transitionJob, type MetricsRecord } from '../src/store/jobs.js';
import { createStore } from '../src/store/redis.js';
import { startStack } from './loadtest-stack.js';

const JOBS = Number(process.env.LOADTEST_JOBS ?? 1000);
const CLIENTS_PER_JOB = Number(process.env.LOADTEST_CLIENTS_PER_JOB ?? 2);
const EPOCHS = Number(process.env.LOADTEST_EPOCHS ?? 5);
const SSE_CONNECTIONS = Number(process.env.SSE_REDIS_CONNECTIONS ?? 4);
/** Clients connecting at once while the load ramps up. */
const CONNECT_BATCH = 100;
const JSON_OUT = process.argv.includes('--json');

const SPEC = JSON.stringify({
  dataset: { builtin: 'xor' },
  model: { layers: [{ type: 'dense', units: 2 }] },
  loss: 'softmax_cross_entropy',
  epochs: EPOCHS,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  fds: number;
  rssMiB: number;
  redisConnections: number;
  /** Of those, blocked in XREAD right now (the SSE shards with jobs to follow). */
  blockedReads: number;
}

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round((Number(kb) / 1024) * 10) / 10;
}

/** The API's connections: every client of this private redis-server but the load test's own. */
async function apiConnections(redis: Redis, ownName: string): Promise<{ total: number; blocked: number; names: string[] }> {
  const lines = ((await redis.client('LIST')) as string).split('\n').filter((l) => l.includes('id=') && !l.includes(` name=${ownName} `));
  return { total: lines.length, blocked: lines.filter((l) => / flags=\w*b/.test(l)).length, names: lines.map((l) => /name=(\S*)/.exec(l)?.[1] ?? '') };
}

interface Client {
  jobId: string;
  ids: string[];
  /** Delivery lag of each live metrics event: now − the stream id's milliseconds. */
  lagMs: number[];
  status: number;
  failed: boolean;
  ended: Promise<void>;
  req: http.ClientRequest;
}

function follow(baseUrl: string, jobId: string, onOpen: () => void): Client {
  const c = { jobId, ids: [], lagMs: [], status: 0, failed: false } as unknown as Client;
  c.ended = new Promise<void>((resolve) => {
    c.req = http.get(`${baseUrl}/v1/jobs/${jobId}/events`, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      c.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      let buf = '';
      let opened = false;
      res.on('data', (chunk: string) => {
        if (!opened) {
          opened = true;
          onOpen();
        }
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const id = /^id: (\d+)-\d+$/m.exec(frame);
          if (id === null) continue;
          c.ids.push(id[0].slice(4));
          if (frame.includes('event: metrics')) c.lagMs.push(Date.now() - Number(id[1]));
        }
      });
      res.on('end', resolve);
      res.on('error', () => {
        c.failed = true;
        resolve();
      });
    });
    c.req.on('error', () => {
      c.failed = true;
      onOpen();
      resolve();
    });
  });
  return c;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

async function main(): Promise<void> {
  const stack = await startStack(0, 0, { SSE_REDIS_CONNECTIONS: String(SSE_CONNECTIONS) });
  const ownName = 'loadtest-sse-writer';
  const redis = new Redis(stack.redisUrl, { connectionName: ownName, maxRetriesPerRequest: null });
  const clients: Client[] = [];
  try {
    const config = loadConfig({ REDIS_URL: stack.redisUrl, KEY_PREFIX: 'traind-loadtest' });
    const store = createStore(config, redis);
    const sample = async (): Promise<Sample> => {
      const conns = await apiConnections(redis, ownName);
      return { fds: fds(stack.apiPid), rssMiB: rssMiB(stack.apiPid), redisConnections: conns.total, blockedReads: conns.blocked };
    };

    // The jobs: queued (no worker runs here), then marked running by this process, which plays the worker.
    const jobIds: string[] = [];
    for (let i = 0; i < JOBS; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, JOBS - i) }, async () => {
          const res = await fetch(`${stack.baseUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SPEC });
          if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
          return ((await res.json()) as { id: string }).id;
        }),
      );
      jobIds.push(...batch);
    }
    for (const id of jobIds) await transitionJob(store, id, 'running', { attempt: 1 });
    await sleep(1000);
    const before = await sample();

    // 2,000 clients, CONNECT_BATCH at a time, each waiting for its stream to open.
    const connectStart = performance.now();
    for (let i = 0; i < JOBS * CLIENTS_PER_JOB; i += CONNECT_BATCH) {
      const opened: Promise<void>[] = [];
      for (let k = i; k < Math.min(i + CONNECT_BATCH, JOBS * CLIENTS_PER_JOB); k++) {
        opened.push(new Promise<void>((resolve) => clients.push(follow(stack.baseUrl, jobIds[k % JOBS] as string, resolve))));
      }
      await Promise.all(opened);
    }
    const connectSeconds = (performance.now() - connectStart) / 1000;
    await sleep(1000);
    const connected = await sample();

    // Every job gets EPOCHS records and its terminal status, jobs interleaved, while we sample the API.
    let peakFds = connected.fds;
    let peakRss = connected.rssMiB;
    let peakConns = connected.redisConnections;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = await sample();
        peakFds = Math.max(peakFds, s.fds);
        peakRss = Math.max(peakRss, s.rssMiB);
        peakConns = Math.max(peakConns, s.redisConnections);
        await sleep(200);
      }
    })();
    const writeStart = performance.now();
    for (let epoch = 1; epoch <= EPOCHS; epoch++) {
      for (let i = 0; i < jobIds.length; i += 50) {
        await Promise.all(
          jobIds.slice(i, i + 50).map((id) => {
            const m = { epoch, step: epoch, loss: 1 / epoch, lr: 0.1, seconds: 0.01, samplesPerSec: 1, attempt: 1 } as unknown as MetricsRecord;
            return recordEpoch(store, id, m, EPOCHS);
          }),
        );
      }
    }
    for (const id of jobIds) await transitionJob(store, id, 'completed', { attempt: 1, reason: 'max_epochs' });
    const allEnded = Promise.all(clients.map((c) => c.ended));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([allEnded.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 120_000)))]);
    clearTimeout(timer);
    const deliverSeconds = (performance.now() - writeStart) / 1000;
    sampling = false;
    await sampler;

    // Exactly once, in order: each client's ids are its job's whole stream.
    const streams = new Map<string, string[]>();
    for (const id of jobIds) streams.set(id, ((await redis.xrange(store.keys.stream(id), '-', '+')) as [string, string[]][]).map(([sid]) => sid));
    let wrong = 0;
    let failed = 0;
    for (const c of clients) {
      if (c.failed || c.status !== 200) failed += 1;
      const want = streams.get(c.jobId) ?? [];
      if (c.ids.length !== want.length || c.ids.some((id, i) => id !== want[i])) wrong += 1;
    }
    const records = clients.reduce((n, c) => n + c.ids.length, 0);
    const lags = clients.flatMap((c) => c.lagMs);

    for (const c of clients) c.req.destroy();
    await sleep(2000);
    const after = await sample();

    const result = {
      jobs: JOBS,
      clients: clients.length,
      sseRedisConnections: SSE_CONNECTIONS,
      connectSeconds: Math.round(connectSeconds * 10) / 10,
      deliverSeconds: Math.round(deliverSeconds * 10) / 10,
      recordsDelivered: records,
      lagMs: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: percentile(lags, 100) },
      before,
      during: { ...connected, peakFds, peakRssMiB: peakRss, peakRedisConnections: peakConns },
      after,
      failedClients: failed,
      clientsWithWrongRecords: wrong,
      timedOut,
    };
    if (JSON_OUT) {
      console.log(JSON.stringify(result));
    } else {
      console.log(`SSE at scale: ${clients.length} clients over ${JOBS} jobs, SSE_REDIS_CONNECTIONS=${SSE_CONNECTIONS}`);
      console.log(`connect: ${result.connectSeconds} s; ${EPOCHS} records + 1 status per job written and delivered in ${result.deliverSeconds} s (${records} events received)`);
      console.log(`live delivery lag: p50 ${result.lagMs.p50} ms, p99 ${result.lagMs.p99} ms, max ${result.lagMs.max} ms`);
      console.log('                    before   during (peak)   after');
      console.log(`API Redis conns     ${String(before.redisConnections).padEnd(8)} ${`${connected.redisConnections} (${peakConns})`.padEnd(15)} ${after.redisConnections}`);
      console.log(`  blocked in XREAD  ${String(before.blockedReads).padEnd(8)} ${String(connected.blockedReads).padEnd(15)} ${after.blockedReads}`);
      console.log(`API fds             ${String(before.fds).padEnd(8)} ${`${connected.fds} (${peakFds})`.padEnd(15)} ${after.fds}`);
      console.log(`API RSS MiB         ${String(before.rssMiB).padEnd(8)} ${`${connected.rssMiB} (${peakRss})`.padEnd(15)} ${after.rssMiB}`);
      console.log(`clients failed: ${failed}; clients missing, repeating or reordering a record: ${wrong}${timedOut ? '; TIMED OUT waiting for the streams to end' : ''}`);
    }
    const extra = connected.redisConnections - before.redisConnections;
    // The shared readers, plus the one pub/sub connection that carries progress events.
    if (failed > 0 || wrong > 0 || timedOut || extra > SSE_CONNECTIONS + 1) {
      console.error(`FAILED: ${failed} failed clients, ${wrong} with wrong records, ${extra} Redis connections opened for SSE (limit ${SSE_CONNECTIONS} + 1)`);
      process.exitCode = 1;
    }
  } finally {
    for (const c of clients) c.req.destroy();
    redis.disconnect();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
