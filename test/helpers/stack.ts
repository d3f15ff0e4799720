// A service of separate processes for fault tests (API + workers) on one Redis, with a unique
// KEY_PREFIX and temporary DATA_DIR (and, in the S3 pass, the run's bucket under that prefix);
// dispose() kills what is left and deletes only this run's keys, files and objects.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { apiClient, type ApiClient } from './api.js';
import { killAll, startApi, startWorker, type ApiProcess, type ServiceProcess } from './processes.js';
import { deletePrefixedKeys, SHARED_REDIS_URL, uniquePrefix } from './redis.js';
import { removeTestObjects, testStorageEnv } from './test-storage.js';

export interface ProcessStack {
  redisUrl: string;
  prefix: string;
  dataDir: string;
  /** The env every process got (e.g. STORAGE_URL), for the test's own config. */
  env: Record<string, string>;
  /** A connection for the test's own reads (streams, BullMQ state); retries through restarts. */
  redis: Redis;
  api: ApiClient;
  apiProcess: ApiProcess;
  workers: ServiceProcess[];
  startWorker(name?: string, env?: Record<string, string>): Promise<ServiceProcess>;
  /** Starts another API process (e.g. after killing the first) and points `api` at it. */
  restartApi(): Promise<ApiProcess>;
  dispose(): Promise<void>;
}

export interface StackOptions {
  tag: string;
  redisUrl?: string;
  /** Env for every process (workers may add their own). */
  env?: Record<string, string>;
}

export async function startProcessStack(o: StackOptions): Promise<ProcessStack> {
  const redisUrl = o.redisUrl ?? SHARED_REDIS_URL;
  const prefix = uniquePrefix(o.tag);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `traind-${o.tag}-`));
  const base = { redisUrl, prefix, dataDir, env: { ...testStorageEnv(prefix), ...o.env } };
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 100, 1000) });
  redis.on('error', () => undefined);
  const workers: ServiceProcess[] = [];
  let n = 0;
  const stack: ProcessStack = {
    redisUrl,
    prefix,
    dataDir,
    env: base.env,
    redis,
    api: null as unknown as ApiClient,
    apiProcess: null as unknown as ApiProcess,
    workers,
    async startWorker(name, env = {}) {
      n += 1;
      const w = await startWorker({ ...base, env: { ...base.env, ...env } }, name ?? `worker-${n}`);
      workers.push(w);
      return w;
    },
    async restartApi() {
      stack.apiProcess = await startApi(base);
      stack.api = apiClient(stack.apiProcess.baseUrl);
      return stack.apiProcess;
    },
    async dispose() {
      await killAll();
      await deletePrefixedKeys(redisUrl, prefix).catch(() => undefined);
      redis.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
      await removeTestObjects(prefix).catch(() => undefined);
    },
  };
  try {
    await stack.restartApi();
  } catch (err) {
    await stack.dispose();
    throw err;
  }
  return stack;
}
