// Real service processes for tests, from dist/ (build first): workers, API servers, the all-in-one
// server, each with its own env and captured pino logs; /proc scans for processes left behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testStorageEnv } from './test-storage.js';
import { waitFor } from './wait.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WORKER_ENTRY = path.join(REPO_ROOT, 'dist/workers/main.js');
export const SERVER_ENTRY = path.join(REPO_ROOT, 'dist/src/server.js');

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export interface ServiceProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Parsed pino lines so far. */
  logs: LogLine[];
  /** Everything written to stdout/stderr that was not a JSON log line. */
  text(): string;
  /** The last n lines of output, for failure messages. */
  tail(n?: number): string;
  alive(): boolean;
  waitForLog(match: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export interface ServiceOptions {
  redisUrl: string;
  prefix: string;
  dataDir: string;
  /** Added to (and overriding) the defaults below. */
  env?: Record<string, string>;
  /** Run inside this network namespace (`ip netns exec`, which execs: the pid is the service's). */
  netns?: string;
}

/**
 * Env for a service process: only what it needs (nothing inherited that could point it at another
 * run's keys), with timings short enough that a dead worker's job is recovered in seconds; in the
 * S3 pass its objects go to the run's bucket under its KEY_PREFIX.
 */
export function serviceEnv(o: ServiceOptions): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'test',
    REDIS_URL: o.redisUrl,
    KEY_PREFIX: o.prefix,
    DATA_DIR: o.dataDir,
    LOG_LEVEL: 'info',
    WORKER_CONCURRENCY: '1',
    EMBEDDED_REDIS: 'false',
    LOCK_DURATION_MS: '2000',
    STALLED_INTERVAL_MS: '1000',
    MAX_RESTARTS: '3',
    MAX_ATTEMPTS: '3',
    BACKOFF_MS: '200',
    RATE_LIMIT_MAX: '10000000',
    MAX_QUEUED_JOBS_PER_TENANT: '100000',
    // The AWS SDK's notice that its 2027 releases need Node 22: once per process, noise in test output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...testStorageEnv(o.prefix),
    ...o.env,
  };
}

const started = new Set<ServiceProcess>();

function launch(name: string, entry: string, env: Record<string, string>, netns?: string): ServiceProcess {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return launchCommand(name, netns === undefined ? [process.execPath, entry] : ['ip', 'netns', 'exec', netns, process.execPath, entry], env);
}

/** Any command as a tracked service process (pino lines parsed, killed by killAll). */
export function launchCommand(name: string, argv: string[], env: Record<string, string>): ServiceProcess {
  const [command = '', ...args] = argv;
  // An IPC channel so the service exits by itself if this test process dies (both entries stop
  // on 'disconnect'); signals sent by the test are still real signals.
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: REPO_ROOT });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const logs: LogLine[] = [];
  const raw: string[] = [];
  const other: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    if (line.length === 0) return;
    raw.push(line);
    if (raw.length > 5000) raw.splice(0, raw.length - 4000);
    if (line.startsWith('{')) {
      try {
        logs.push(JSON.parse(line) as LogLine);
        for (const w of waiters) w();
        return;
      } catch {
        // not JSON after all
      }
    }
    other.push(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
  }
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      for (const w of waiters) w();
      resolve({ code, signal, at: Date.now() });
    });
  });
  // The IPC channel must not keep the test alive, nor its errors crash it.
  child.on('error', () => undefined);
  child.channel?.unref();
  const proc: ServiceProcess = {
    name,
    pid: child.pid,
    child,
    logs,
    text: () => other.join('\n'),
    tail: (n = 40) => `--- ${name} (pid ${child.pid}) ---\n${raw.slice(-n).join('\n')}`,
    alive: () => !done,
    kill: (signal) => {
      if (!done) child.kill(signal);
    },
    exited,
    waitForLog(match, timeoutMs, what) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = logs.find(match);
          if (hit) finish(() => resolve(hit));
          else if (done) finish(() => reject(new Error(`${name} exited while waiting for ${what}\n${proc.tail()}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}\n${proc.tail()}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
      });
    },
  };
  started.add(proc);
  void exited.then(() => started.delete(proc));
  return proc;
}

/** A worker process (concurrency 1 unless env says otherwise), resolved once it has started. */
export async function startWorker(o: ServiceOptions, name = 'worker'): Promise<ServiceProcess> {
  const proc = launch(name, WORKER_ENTRY, serviceEnv(o), o.netns);
  await proc.waitForLog((l) => l.msg === 'worker started', 20_000, `${name} to start`);
  return proc;
}

export interface ApiProcess extends ServiceProcess {
  baseUrl: string;
}

/** An API-only server on a free port, resolved once it listens and Redis answers (/readyz). */
export async function startApi(o: ServiceOptions, name = 'api'): Promise<ApiProcess> {
  const env = serviceEnv({ ...o, env: { TRAIND_ROLE: 'api', PORT: '0', HOST: '127.0.0.1', ...o.env } });
  const proc = launch(name, SERVER_ENTRY, env, o.netns);
  const line = await proc.waitForLog((l) => l.msg === 'API listening' && typeof l.address === 'string', 20_000, `${name} to listen`);
  const baseUrl = String(line.address).replace('0.0.0.0', '127.0.0.1');
  await waitFor(async () => (await fetch(`${baseUrl}/readyz`).catch(() => null))?.status === 200, {
    timeoutMs: 10_000,
    what: `${name} /readyz`,
  });
  return Object.assign(proc, { baseUrl });
}

/**
 * The all-in-one server (`npm start`: API + workers, and its own redis-server when nothing
 * answers at REDIS_URL), resolved once it listens.
 */
export async function startAllInOne(o: ServiceOptions, name = 'server'): Promise<ApiProcess> {
  const env = serviceEnv({ ...o, env: { TRAIND_ROLE: 'all', PORT: '0', HOST: '127.0.0.1', EMBEDDED_REDIS: 'true', ...o.env } });
  const proc = launch(name, SERVER_ENTRY, env);
  const line = await proc.waitForLog((l) => l.msg === 'API listening' && typeof l.address === 'string', 30_000, `${name} to listen`);
  return Object.assign(proc, { baseUrl: String(line.address) });
}

/** SIGKILLs every process this file started that is still running (afterAll/afterEach). */
export async function killAll(): Promise<void> {
  const procs = [...started];
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}

/** Output of every process still tracked, for a failing test's message. */
export function allTails(n = 30): string {
  return [...started].map((p) => p.tail(n)).join('\n');
}

function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ppid …": the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return null;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** True when the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const s = procState(pid);
  return s !== null && s !== 'Z' && s !== 'X';
}

/** Live (non-zombie) processes whose environment has KEY_PREFIX=<prefix>: every process of a run. */
export function processesOfPrefix(prefix: string): number[] {
  const needle = `KEY_PREFIX=${prefix}\0`;
  const out: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (`${env}\0`.includes(needle) && isRunning(pid)) out.push(pid);
  }
  return out;
}

/** Every live descendant of pid (children, grandchildren…), from /proc. */
export function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const p of allPids()) {
    const pp = parentOf(p);
    if (pp !== null) parents.set(p, pp);
  }
  const out: number[] = [];
  for (const [p] of parents) {
    let cur: number | undefined = parents.get(p);
    for (let hops = 0; cur !== undefined && cur > 1 && hops < 64; hops++) {
      if (cur === pid) {
        if (isRunning(p)) out.push(p);
        break;
      }
      cur = parents.get(cur);
    }
  }
  return out;
}

/**
 * How long a dead worker's job may take to be picked up again: a few seconds when the config
 * honours LOCK_DURATION_MS/STALLED_INTERVAL_MS (set short by serviceEnv), else BullMQ's 30 s
 * lock plus up to two 30 s stalled checks.
 */
export async function stalledRecoveryMs(): Promise<number> {
  const { loadConfig } = await import('../../src/config.js');
  const c = loadConfig({ LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000' }) as object;
  return 'lockDurationMs' in c && 'stalledIntervalMs' in c ? 30_000 : 100_000;
}

/** CPU seconds (user + system) of one process, plus those of its children it has reaped. */
function ownCpuSeconds(pid: number, reaped: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]);
    return (reaped ? own + Number(fields[13]) + Number(fields[14]) : own) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) a process and everything it started have used so far, from /proc:
 * a worker's jobs train in child processes, whose time counts as the worker's (live ones as they
 * run, finished ones once reaped).
 */
export function cpuSeconds(pid: number): number {
  return ownCpuSeconds(pid, true) + descendantsOf(pid).reduce((sum, child) => sum + ownCpuSeconds(child, false), 0);
}

/** The share of one core a process (with its children) used over the next `ms` (a training job shows ~1). */
export async function cpuShare(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, ms));
  return (cpuSeconds(pid) - before) / (ms / 1000);
}

/**
 * Samples the CPU share of each process every `intervalMs` until stop(): one row per interval,
 * one share per pid (e.g. to check that two workers never train the same job at once).
 */
export function sampleCpu(pids: number[], intervalMs: number): { stop(): number[][] } {
  const rows: number[][] = [];
  let last = pids.map(cpuSeconds);
  let at = Date.now();
  const timer = setInterval(() => {
    const now = pids.map(cpuSeconds);
    const t = Date.now();
    rows.push(now.map((c, i) => (c - (last[i] ?? 0)) / ((t - at) / 1000)));
    last = now;
    at = t;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return rows;
    },
  };
}
