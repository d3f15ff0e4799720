// The service the load test runs against, on loopback: a private redis-server, one API and N worker
// processes from dist/, with their CPU time from /proc; stop() ends everything it started.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Stack {
  baseUrl: string;
  redisUrl: string;
  apiPid: number;
  redisPid: number;
  workerPids: number[];
  /** The service's DATA_DIR. */
  dataDir: string;
  /** The environment the workers run with (and so their trainers). */
  workerEnv: Record<string, string>;
  /** CPU seconds (user + system) used so far by a process. */
  cpuSeconds(pid: number): number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until true; a check that throws a non-network error (a process died) ends the wait. */
async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  const attempt = () =>
    check().catch((err: unknown) => {
      if (err instanceof Error && err.message.includes('exited')) throw err;
      return false;
    });
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** utime, stime, cutime, cstime (stat fields 14–17) and the parent pid (field 4), or null. */
function statOf(pid: number): { own: number; reaped: number; ppid: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { own: Number(fields[11]) + Number(fields[12]), reaped: Number(fields[13]) + Number(fields[14]), ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

/** CPU seconds of a process and its children: workers train each job in a child process. */
function cpuSeconds(pid: number): number {
  const self = statOf(pid);
  if (self === null) return 0;
  let ticks = self.own + self.reaped;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const child = statOf(Number(name));
    if (child !== null && child.ppid === pid) ticks += child.own;
  }
  return ticks / 100;
}

/** Hands each line the worker (and its trainers, which share its stdout) writes to `onLine`. */
function readLines(w: ChildProcess, onLine: (line: string) => void): void {
  let rest = '';
  w.stdout?.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}

/**
 * `onWorkerLog` gets the workers' log lines (else they are discarded). `nice` (0 = as is) lowers the CPU priority of the API and redis-server, as a deployment that
 * gives training the cores first would (nice, cgroup cpu.weight, container CPU shares).
 */
export async function startStack(workers: number, nice = 0, extraEnv: Record<string, string> = {}, onWorkerLog?: (line: string) => void): Promise<Stack> {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'traind-loadtest-'));
  const redisPort = await freePort();
  const apiPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const baseUrl = `http://127.0.0.1:${apiPort}`;

  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await gone;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'], { stdio: 'ignore' });
    children.push(redis);
    const { Redis } = await import('ioredis');
    await until('redis-server', 10_000, async () => {
      const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } finally {
        r.disconnect();
      }
    });

    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL: redisUrl,
      KEY_PREFIX: 'traind-loadtest',
      DATA_DIR: path.join(dir, 'data'),
      LOG_LEVEL: 'info',
      EMBEDDED_REDIS: 'false',
      WORKER_CONCURRENCY: '1',
      RATE_LIMIT_MAX: '10000000',
      MAX_QUEUED_JOBS_PER_TENANT: '1000000',
      ...extraEnv,
    };
    // Logs go to /dev/null: writing them is part of the service's cost, reading them is not.
    const api = spawn(process.execPath, [path.join(ROOT, 'dist/src/server.js')], {
      env: { ...env, TRAIND_ROLE: 'api', PORT: String(apiPort), HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(api);
    await until('the API', 20_000, async () => {
      if (api.exitCode !== null) throw new Error(`the API exited (${api.exitCode})`);
      return (await fetch(`${baseUrl}/readyz`)).status === 200;
    });

    if (nice !== 0) {
      for (const pid of [api.pid, redis.pid]) if (pid !== undefined) os.setPriority(pid, nice);
    }
    const workerPids: number[] = [];
    for (let i = 0; i < workers; i++) {
      const w = spawn(process.execPath, [path.join(ROOT, 'dist/workers/main.js')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(w);
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        const onData = (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('"worker started"')) {
            w.stdout?.off('data', onData);
            if (onWorkerLog) readLines(w, onWorkerLog);
            else w.stdout?.resume();
            resolve();
          }
        };
        w.stdout?.on('data', onData);
        w.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
      });
      workerPids.push(w.pid ?? 0);
    }
    return { baseUrl, redisUrl, apiPid: api.pid ?? 0, redisPid: redis.pid ?? 0, workerPids, dataDir: env.DATA_DIR, workerEnv: env, cpuSeconds, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
