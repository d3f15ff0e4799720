// Redis for tests: the shared server (unique key prefix per run, only our keys deleted afterwards)
// or a private redis-server on a free port with append-only persistence, for tests that restart it.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisAnswers } from '../../src/store/redis.js';
import { sleep, waitFor } from './wait.js';

/** The shared Redis every non-restarting test uses (override with TRAIND_TEST_REDIS_URL). */
export const SHARED_REDIS_URL = process.env.TRAIND_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A KEY_PREFIX no other run uses (config allows letters, digits, _ . -). */
export function uniquePrefix(tag: string): string {
  const safe = tag.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 20);
  return `traind-test-${safe}-${process.pid}-${Date.now().toString(36)}`;
}

/** Deletes the keys matching `pattern` (SCAN, so a shared Redis is never blocked); returns how many. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Deletes every key under `${prefix}:` (ours only: BullMQ's and the store's share the prefix). */
export async function deletePrefixedKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    await redis.connect();
    deleted = await deleteKeys(redis, `${prefix}:*`);
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** A free TCP port on 127.0.0.1 (free when asked; good enough for a test's private server). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** Working directory holding appendonlydir/. */
  dir: string;
  pid(): number | undefined;
  /** Kills the server (SIGKILL = a crash; SIGTERM = a clean shutdown) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (the AOF is replayed). */
  start(): Promise<void>;
  /** Stops, then removes its directory. */
  dispose(): Promise<void>;
}

/** Starts redis-server on a free loopback port with `--appendonly yes` in a fresh temp dir (and a password if given). */
export async function startPrivateRedis(opts: { password?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'traind-redis-'));
  const url = opts.password === undefined ? `redis://127.0.0.1:${port}` : `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  async function start(): Promise<void> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''];
    if (opts.password !== undefined) args.push('--requirepass', opts.password);
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${stderr}`);
        return redisAnswers(url, 1000);
      },
      { timeoutMs: 10_000, intervalMs: 50, what: `redis-server on port ${port}` },
    );
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = child;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
    child = null;
    // The port is free once the process is gone; give the kernel a moment to release it.
    await sleep(50);
  }

  await start();
  return {
    port,
    url,
    dir,
    pid: () => child?.pid,
    stop,
    start,
    async dispose() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
