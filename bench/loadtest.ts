// `npm run loadtest`: while two workers train, hammer submit, get, metrics polling and SSE on
// loopback and report req/s, p50/p99 and errors per route, and training samples/s with vs without.

import autocannon, { type Result } from 'autocannon';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Redis } from 'ioredis';
import { startSseLoad, type SseStats } from './loadtest-sse.js';
import { startStack, type Stack } from './loadtest-stack.js';

const LOAD_SECONDS = Number(process.env.LOADTEST_SECONDS ?? 30);
const QUIET_SECONDS = Number(process.env.LOADTEST_QUIET_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.LOADTEST_CONNECTIONS ?? 4);
/** Requests per second per route (0 = as fast as the connections go: the default "hammer"). */
const RATE = Number(process.env.LOADTEST_RATE ?? 0);
/**
 * Niceness of everything but the training workers (API, redis-server, this load generator), one
 * run per value: 0 = all at the workers' CPU priority; 10 = training first, as nice, cgroup
 * cpu.weight or container CPU shares would give it where the API shares the workers' cores (the
 * clients and Redis being elsewhere in a real deployment).
 */
const NICES = (process.env.LOADTEST_NICE ?? '0,10').split(',').map(Number);
const WARMUP_MS = 3000;

/** The two long jobs the workers train during the test (cancelled at the end). */
const TRAINING_SPEC = {
  name: 'loadtest-training',
  dataset: { builtin: 'moons' },
  validation: { fraction: 0.2 },
  // ~0.25 s epochs here (100 mini-batches of 4): the per-epoch I/O (metrics, checkpoint,
  // 3 MB resume state) weighs as in a real job, not as in a toy one.
  model: { layers: [{ type: 'dense', units: 512, activation: 'relu' }, { type: 'dense', units: 512, activation: 'relu' }, { type: 'dense', units: 2 }] },
  loss: 'softmax_cross_entropy',
  optimizer: { type: 'adam' },
  learningRate: 0.001,
  batchSize: 4,
  epochs: 100_000,
  checkpoints: { keepBest: 1 },
  seed: 1,
};

/** What the submit route gets hammered with: small jobs that queue up behind the training ones. */
const SUBMIT_SPEC = JSON.stringify({
  dataset: { builtin: 'xor' },
  model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }] },
  loss: 'softmax_cross_entropy',
  epochs: 1,
  priority: 0,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Window {
  name: string;
  from: number;
  to: number;
  /** CPU seconds the machine spent outside this test's processes (other users of the cores). */
  othersCpu?: number;
}

/**
 * CPU seconds all processes of the machine have used (user + nice + system, all cores, from
 * /proc/stat). Interrupt time is left out: the loopback traffic of the load itself lands there.
 */
function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user = 0, nice = 0, system = 0] = line.trim().split(/\s+/).map(Number);
  return (user + nice + system) / 100;
}

/** Starts a window; its end() records how much CPU processes other than ours used meanwhile. */
function openWindow(name: string, stack: Stack): { w: Window; end(): Window } {
  const ours = () => [stack.apiPid, stack.redisPid, ...stack.workerPids, process.pid].reduce((acc, pid) => acc + stack.cpuSeconds(pid), 0);
  const w: Window = { name, from: Date.now(), to: 0 };
  const busy0 = machineBusySeconds();
  const ours0 = ours();
  return {
    w,
    end() {
      w.to = Date.now();
      w.othersCpu = Math.max(0, machineBusySeconds() - busy0 - (ours() - ours0));
      return w;
    },
  };
}

interface EpochRecord {
  job: string;
  /** When the epoch's record was written (the stream id's ms) and when the epoch started. */
  end: number;
  start: number;
  samplesPerSec: number;
}

async function json<T>(res: Response): Promise<T> {
  if (res.status >= 300) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function submitTraining(stack: Stack): Promise<string> {
  const res = await fetch(`${stack.baseUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(TRAINING_SPEC) });
  return (await json<{ id: string }>(res)).id;
}

async function waitRunning(stack: Stack, ids: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const states = await Promise.all(ids.map(async (id) => (await json<{ status: string }>(await fetch(`${stack.baseUrl}/v1/jobs/${id}`))).status));
    if (states.every((s) => s === 'running')) return;
    if (Date.now() > deadline) throw new Error(`training jobs not running: ${states.join(', ')}`);
    await sleep(200);
  }
}

async function epochRecords(redisUrl: string, ids: string[]): Promise<EpochRecord[]> {
  const redis = new Redis(redisUrl);
  try {
    const out: EpochRecord[] = [];
    for (const id of ids) {
      const raw = (await redis.xrange(`traind-loadtest:job:${id}:stream`, '-', '+')) as [string, string[]][];
      for (const [sid, fields] of raw) {
        if (fields[1] !== 'metrics') continue;
        const m = JSON.parse(fields[3] ?? '{}') as { seconds: number; samplesPerSec: number };
        const end = Number(sid.split('-')[0]);
        out.push({ job: id, end, start: end - m.seconds * 1000, samplesPerSec: m.samplesPerSec });
      }
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/**
 * Training throughput in a window: per job, samples over training time for the epochs that ran
 * entirely inside it (each epoch has the same rows, so that is the harmonic mean of samplesPerSec),
 * summed over the jobs; and epochs finished per second (includes validation and the hooks' I/O).
 */
function throughput(records: EpochRecord[], w: Window, jobs: string[]): { samplesPerSec: number; epochsPerSec: number; epochs: number } {
  let total = 0;
  let epochs = 0;
  for (const job of jobs) {
    const inside = records.filter((r) => r.job === job && r.start >= w.from && r.end <= w.to);
    if (inside.length === 0) continue;
    total += inside.length / inside.reduce((acc, r) => acc + 1 / r.samplesPerSec, 0);
    epochs += inside.length;
  }
  return { samplesPerSec: total, epochsPerSec: epochs / ((w.to - w.from) / 1000), epochs };
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');

function routeLine(name: string, r: Result): string {
  const errors = r.errors + r.timeouts + r.non2xx;
  return `${name.padEnd(34)} ${String(r.requests.total).padStart(9)} ${f1(r.requests.total / r.duration).padStart(9)} ${f1(r.latency.p50).padStart(8)} ${f1(r.latency.p99).padStart(8)} ${String(errors).padStart(7)}`;
}

interface RunSummary {
  nice: number;
  reqPerSec: number;
  errors: number;
  drop: number;
  noisy: boolean;
}

async function runOnce(nice: number): Promise<RunSummary> {
  console.log(
    `traind load test: 2 workers training, ${LOAD_SECONDS} s of load (${CONNECTIONS} connections per route, ${RATE > 0 ? `${RATE} requests/s each` : 'unthrottled'}), quiet windows of ${QUIET_SECONDS} s before and after; ` +
      `non-worker processes at nice ${nice}; ${os.availableParallelism()} cores, load average ${os.loadavg()[0]?.toFixed(2)} at start`,
  );
  const stack = await startStack(2, nice);
  // Only upwards without privileges: runs go 0 first, then higher.
  if (nice !== 0) os.setPriority(0, nice);
  try {
    const jobs = [await submitTraining(stack), await submitTraining(stack)];
    await waitRunning(stack, jobs);
    await sleep(WARMUP_MS);

    const beforeW = openWindow('before (no load)', stack);
    await sleep(QUIET_SECONDS * 1000);
    const before = beforeW.end();

    const cpu0 = { api: stack.cpuSeconds(stack.apiPid), redis: stack.cpuSeconds(stack.redisPid), self: process.cpuUsage() };
    const duringW = openWindow('during the load', stack);
    const during = duringW.w;
    const common = { connections: CONNECTIONS, duration: LOAD_SECONDS, timeout: 10, ...(RATE > 0 ? { overallRate: RATE } : {}) };
    const sse = startSseLoad(stack.baseUrl, jobs, { connectors: CONNECTIONS, watchers: CONNECTIONS, rate: RATE });
    const [submit, get, metrics] = await Promise.all([
      autocannon({ ...common, url: `${stack.baseUrl}/v1/jobs`, method: 'POST', headers: { 'content-type': 'application/json' }, body: SUBMIT_SPEC }),
      autocannon({ ...common, url: stack.baseUrl, requests: jobs.map((id) => ({ method: 'GET', path: `/v1/jobs/${id}` })) }),
      autocannon({ ...common, url: stack.baseUrl, requests: jobs.map((id) => ({ method: 'GET', path: `/v1/jobs/${id}/metrics?limit=50` })) }),
    ]);
    const sseStats: SseStats = sse.stop();
    duringW.end();
    const apiCpu = stack.cpuSeconds(stack.apiPid) - cpu0.api;
    const redisCpu = stack.cpuSeconds(stack.redisPid) - cpu0.redis;
    const selfCpu = process.cpuUsage(cpu0.self);

    const afterW = openWindow('after (no load)', stack);
    await sleep(QUIET_SECONDS * 1000);
    const after = afterW.end();

    for (const id of jobs) await fetch(`${stack.baseUrl}/v1/jobs/${id}/cancel`, { method: 'POST' });
    const records = await epochRecords(stack.redisUrl, jobs);

    console.log('');
    console.log(`${'route'.padEnd(34)} ${'requests'.padStart(9)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`);
    console.log(routeLine('POST /v1/jobs (submit)', submit));
    console.log(routeLine('GET /v1/jobs/:id', get));
    console.log(routeLine('GET /v1/jobs/:id/metrics?limit=50', metrics));
    const loadSeconds = (during.to - during.from) / 1000;
    const sseLine = `${'GET /v1/jobs/:id/events (SSE)'.padEnd(34)} ${String(sseStats.connects).padStart(9)} ${f1(sseStats.connects / loadSeconds).padStart(9)} ${f1(pct(sseStats.firstEventMs, 50)).padStart(8)} ${f1(pct(sseStats.firstEventMs, 99)).padStart(8)} ${String(sseStats.errors).padStart(7)}`;
    console.log(`${sseLine}   (connections; latency = time to first event)`);
    console.log(`SSE live delivery (${CONNECTIONS} watchers, ${sseStats.lagMs.length} new events): lag p50 ${f1(pct(sseStats.lagMs, 50))} ms, p99 ${f1(pct(sseStats.lagMs, 99))} ms`);
    const errors = [submit, get, metrics].reduce((acc, r) => acc + r.errors + r.timeouts + r.non2xx, 0) + sseStats.errors;
    const statusCodes = [submit, get, metrics].map((r) => JSON.stringify(Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count]))));
    console.log(`status codes: submit ${statusCodes[0]}, get ${statusCodes[1]}, metrics ${statusCodes[2]}; total errors ${errors}`);
    const share = (seconds: number) => `${f1((seconds / loadSeconds) * 100)}%`;
    console.log(`CPU during the load (of one core): API ${share(apiCpu)}, redis-server ${share(redisCpu)}, load generator ${share((selfCpu.user + selfCpu.system) / 1e6)}`);

    console.log('');
    const tb = throughput(records, before, jobs);
    const td = throughput(records, during, jobs);
    const ta = throughput(records, after, jobs);
    for (const [w, t] of [[before, tb], [during, td], [after, ta]] as const) {
      const others = ((w.othersCpu ?? 0) / ((w.to - w.from) / 1000)) * 100;
      console.log(
        `training ${w.name.padEnd(17)} ${f1(t.samplesPerSec).padStart(10)} samples/s (2 jobs) ${t.epochsPerSec.toFixed(2).padStart(7)} epochs/s  (${t.epochs} epochs; other processes on this machine used ${f1(others)}% of a core)`,
      );
    }
    // Other processes sharing these cores (other users, CI neighbours) skew the comparison.
    const noisy = [before, during, after].filter((w) => (w.othersCpu ?? 0) / ((w.to - w.from) / 1000) > 0.25).map((w) => w.name);
    if (noisy.length > 0) console.log(`NOTE: other processes used over 25% of a core in: ${noisy.join(', ')} — the throughput comparison below is unreliable; rerun on a quiet machine`);
    // The baseline: the quiet windows the rest of the machine left alone (both if it bothered both).
    const quiet = [
      { w: before, t: tb },
      { w: after, t: ta },
    ];
    const clean = quiet.filter((q) => !noisy.includes(q.w.name));
    const used = clean.length > 0 ? clean : quiet;
    const baseline = used.reduce((acc, q) => acc + q.t.samplesPerSec, 0) / used.length;
    const ratio = td.samplesPerSec / baseline;
    const epochRatio = td.epochsPerSec / (used.reduce((acc, q) => acc + q.t.epochsPerSec, 0) / used.length);
    if (used.length < quiet.length) console.log(`baseline: ${used.map((q) => q.w.name).join(', ')} only`);
    console.log(
      `under load / without: samples/s ×${ratio.toFixed(3)} (${f1((1 - ratio) * 100)}% drop), epochs/s ×${epochRatio.toFixed(3)}; goal ≤ 10% drop: ${1 - ratio <= 0.1 ? 'met' : 'NOT met'}`,
    );
    const reqPerSec = [submit, get, metrics].reduce((acc, r) => acc + r.requests.total / r.duration, 0) + sseStats.connects / loadSeconds;
    return { nice: nice, reqPerSec, errors, drop: 1 - ratio, noisy: noisy.length > 0 };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const runs: RunSummary[] = [];
  for (const nice of NICES) {
    runs.push(await runOnce(nice));
    console.log('');
  }
  console.log('summary:');
  for (const r of runs) {
    console.log(`  nice ${String(r.nice).padStart(2)} for API, Redis and load generator: ${f1(r.reqPerSec).padStart(7)} requests/s over all routes, ${r.errors} errors, training throughput drop ${f1(r.drop * 100)}%${r.noisy ? ' (noisy machine: unreliable)' : ''}`);
  }
  process.exit(runs.some((r) => r.errors > 0) ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
