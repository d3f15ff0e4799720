// `npm start`'s process (dist/src/server.js) for real: a private redis-server when none answers,
// a clear exit when Redis cannot be had, loopback-only without API keys, and a clean SIGTERM.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testStorageEnv } from '../helpers/test-storage.js';
import { repoRoot } from './stack.js';

const serverEntry = path.join(repoRoot, 'dist/src/server.js');
const dirs: string[] = [];
const haveRedisServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

beforeAll(() => {
  if (!existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run \`npm run build\` before the integration tests`);
});

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Run {
  output: () => string;
  waitFor: (text: string, timeoutMs?: number) => Promise<void>;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

function runServer(env: Record<string, string>): Run {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'traind-server-'));
  dirs.push(dataDir);
  const prefix = `traind-test-${process.pid}-${Date.now()}`;
  const child = spawn(process.execPath, [serverEntry], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', KEY_PREFIX: prefix, WORKER_CONCURRENCY: '1', ...testStorageEnv(prefix), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (c: Buffer) => {
    out += c.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => out,
    exited,
    kill: (signal) => child.kill(signal),
    // Generous: start-up builds the whole app (schemas, OpenAPI), slow on a loaded 2-core CI machine.
    waitFor: (text, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out.includes(text)) {
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
        check();
        setTimeout(() => reject(new Error(`"${text}" not seen in:\n${out}`)), timeoutMs).unref();
      }),
  };
}

describe('the all-in-one server', () => {
  it.skipIf(!haveRedisServer)('starts a private append-only redis-server when none answers, serves, and stops it on SIGTERM', async () => {
    const redisPort = await freePort();
    const run = runServer({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, HOST: '0.0.0.0', LOG_LEVEL: 'info' });
    await run.waitFor('"API listening"');
    expect(run.output()).toContain(`started a private redis-server on 127.0.0.1:${redisPort}`);
    // No API keys: HOST=0.0.0.0 is refused in favour of loopback, with a warning.
    expect(run.output()).toContain('no API_KEYS configured: ignoring HOST and listening on 127.0.0.1 only');
    const address = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(run.output())?.[1];
    expect(address).toBeDefined();
    const ready = await fetch(`${address}/readyz`);
    expect(ready.status).toBe(200);

    run.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('private redis-server exited');
    // Redis is gone with it.
    await expect(fetch(`${address}/healthz`)).rejects.toThrow();
    const probe = runServer({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, TRAIND_ROLE: 'api' });
    expect(await probe.exited).toBe(1);
  });

  it.skipIf(!haveRedisServer)('leaves no redis-server behind when it is killed outright', async () => {
    const redisPort = await freePort();
    const run = runServer({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, LOG_LEVEL: 'info' });
    await run.waitFor('"API listening"');
    expect(await portOpen(redisPort)).toBe(true);
    run.kill('SIGKILL');
    await run.exited;
    const deadline = Date.now() + 5000;
    while ((await portOpen(redisPort)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await portOpen(redisPort)).toBe(false);
  });

  it('exits with a message saying how to get Redis when none answers and redis-server is not installed', async () => {
    const redisPort = await freePort();
    const run = runServer({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, PATH: '/nonexistent' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('redis-server is not on the PATH');
    expect(run.output()).toContain('point REDIS_URL at one');
  });
});
