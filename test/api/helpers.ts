// Test fixtures for the API and store tests: a real Redis under a unique key prefix, a temporary
// DATA_DIR (scratch, and the storage in the local pass; the run's bucket in the S3 pass), the real
// app; cleanup deletes only this run's keys, files and objects.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { buildApp } from '../../src/api/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createTrainQueue, type TrainQueue } from '../../src/queue/queue.js';
import { createRedis, createStore, type Store } from '../../src/store/redis.js';
import { expect } from 'vitest';
import { conformanceRecorder } from '../helpers/conformance.js';
import { deleteKeys } from '../helpers/redis.js';
import { removeTestObjects, testStorageEnv } from '../helpers/test-storage.js';

let counter = 0;

export function uniquePrefix(): string {
  counter += 1;
  return `traind-test-${process.pid}-${Date.now()}-${counter}`;
}

export interface StoreFixture {
  config: Config;
  redis: Redis;
  store: Store;
  dataDir: string;
  close(): Promise<void>;
}

export async function storeFixture(env: Record<string, string> = {}): Promise<StoreFixture> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'traind-test-'));
  const prefix = uniquePrefix();
  const config = loadConfig({ KEY_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...testStorageEnv(prefix), ...env });
  const redis = createRedis(config, { name: `test-${config.keyPrefix}` });
  const store = createStore(config, redis);
  return {
    config,
    redis,
    store,
    dataDir,
    async close() {
      await deleteKeys(redis, `${config.keyPrefix}:*`);
      await redis.quit();
      await rm(dataDir, { recursive: true, force: true });
      await removeTestObjects(prefix);
    },
  };
}


export interface AppFixture extends StoreFixture {
  app: FastifyInstance;
  queue: TrainQueue;
}

export async function appFixture(env: Record<string, string> = {}): Promise<AppFixture> {
  const base = await storeFixture(env);
  const queue = createTrainQueue(base.config, base.redis);
  // BullMQ writes its meta key once it is ready: wait, so that close() deletes it too.
  await queue.waitUntilReady();
  const conformance = conformanceRecorder();
  const app = await buildApp(base.config, { redis: base.redis, queue, observeResponse: conformance.observe });
  return {
    ...base,
    app,
    queue,
    async close() {
      await app.close();
      await queue.close();
      await base.close();
      // Every response these tests saw is what openapi/openapi.json says it can be.
      expect(conformance.violations()).toEqual([]);
    },
  };
}

/** A small valid spec on a built-in dataset. */
export function xorSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dataset: { builtin: 'xor' },
    model: { layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }] },
    loss: 'softmax_cross_entropy',
    optimizer: { type: 'adam' },
    learningRate: 0.05,
    epochs: 5,
    ...extra,
  };
}

export function errorOf(body: string): { code: string; message: string; details: { path?: string; issues?: { path: string; message: string }[] } } {
  return (JSON.parse(body) as { error: never }).error;
}
