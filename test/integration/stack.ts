// A real service for integration tests: the API in this process on 127.0.0.1:0 and worker
// processes started from dist/ (as production runs them), sharing the real Redis under a unique
// key prefix, a temporary DATA_DIR and, in the S3 pass, the run's bucket under that prefix.
// `stop()` ends the processes and deletes only this run's keys, files and objects.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../src/api/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createTrainQueue, type TrainQueue } from '../../src/queue/queue.js';
import { createStorage } from '../../src/storage/create-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { createRedis } from '../../src/store/redis.js';
import { expect } from 'vitest';
import { conformanceRecorder } from '../helpers/conformance.js';
import { deleteKeys } from '../helpers/redis.js';
import { removeTestObjects, testStorageEnv } from '../helpers/test-storage.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workerEntry = path.join(repoRoot, 'dist/workers/main.js');

export interface WorkerProcess {
  child: ChildProcess;
  output: string[];
}

export interface Stack {
  config: Config;
  env: Record<string, string>;
  baseUrl: string;
  /** The service's storage (its DATA_DIR, or its prefix in the run's bucket), for the test's own looks. */
  storage: Storage;
  app: FastifyInstance;
  redis: Redis;
  workers: WorkerProcess[];
  startWorker(extraEnv?: Record<string, string>): Promise<WorkerProcess>;
  stopWorker(w: WorkerProcess, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(options: { workers: number; env?: Record<string, string> }): Promise<Stack> {
  if (!existsSync(workerEntry)) throw new Error(`${workerEntry} is missing: run \`npm run build\` before the integration tests`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'traind-it-'));
  const prefix = `traind-test-${process.pid}-${Date.now()}`;
  const env: Record<string, string> = {
    KEY_PREFIX: prefix,
    DATA_DIR: dataDir,
    ...testStorageEnv(prefix),
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: 'warn',
    PORT: '0',
    ...options.env,
  };
  const config = loadConfig({ ...process.env, ...env });
  const redis = createRedis(config, { name: 'integration-api' });
  const queue: TrainQueue = createTrainQueue(config, redis);
  const conformance = conformanceRecorder();
  const app = await buildApp(config, { redis, queue, observeResponse: conformance.observe });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const workers: WorkerProcess[] = [];

  async function startWorker(extraEnv: Record<string, string> = {}): Promise<WorkerProcess> {
    const child = spawn(process.execPath, [workerEntry], {
      env: { ...process.env, ...env, LOG_LEVEL: 'info', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const w: WorkerProcess = { child, output: [] };
    workers.push(w);
    const started = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        w.output.push(text);
        if (text.includes('"worker started"')) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (c: Buffer) => w.output.push(c.toString()));
      child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${w.output.join('')}`)));
    });
    await started;
    return w;
  }

  async function stopWorker(w: WorkerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return;
    const exited = new Promise((resolve) => w.child.once('exit', resolve));
    w.child.kill(signal);
    await exited;
  }

  for (let i = 0; i < options.workers; i++) await startWorker();

  return {
    config,
    env,
    baseUrl,
    storage: createStorage(config.storage),
    app,
    redis,
    workers,
    startWorker,
    stopWorker,
    async stop() {
      await Promise.all(workers.map((w) => stopWorker(w)));
      await app.close();
      await queue.close();
      await deleteKeys(redis, `${config.keyPrefix}:*`);
      await redis.quit();
      rmSync(dataDir, { recursive: true, force: true });
      await removeTestObjects(prefix);
      // Every response these tests saw is what openapi/openapi.json says it can be.
      expect(conformance.violations()).toEqual([]);
    },
  };
}


export async function api<T = unknown>(stack: Stack, method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(stack.baseUrl + url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads a job's event stream until the server ends it (after the terminal status). */
export async function readEvents(stack: Stack, jobId: string, timeoutMs = 30_000): Promise<SseEvent[]> {
  const res = await fetch(`${stack.baseUrl}/v1/jobs/${jobId}/events`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200 || res.body === null) throw new Error(`events: HTTP ${res.status}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields: Record<string, string> = {};
      for (const line of frame.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
      }
      if (fields.data !== undefined && fields.event !== undefined && fields.id !== undefined) {
        events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) as Record<string, unknown> });
      }
    }
  }
  return events;
}

/** Polls the job until `until` holds (or fails after timeoutMs). */
export async function waitForJob<T extends { status: string }>(
  stack: Stack,
  jobId: string,
  until: (job: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api<T>(stack, 'GET', `/v1/jobs/${jobId}`);
    if (until(body)) return body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach the expected state: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
