// The sweeper removes the stored objects of jobs whose records Redis has expired, and only those.

import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { newJobId } from '../../src/store/ids.js';
import { createRedis, createStore, type Store } from '../../src/store/redis.js';
import { sweepExpiredJobFiles, sweepStaleTemporaries } from '../../workers/retention-sweeper.js';

let store: Store;
let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'traind-sweep-'));
  const config = loadConfig({ KEY_PREFIX: `traind-test-${process.pid}-${Date.now()}`, DATA_DIR: dataDir });
  store = createStore(config, createRedis(config, { name: 'sweeper-test' }));
});

afterAll(async () => {
  const keys = await store.redis.keys(`${store.keys.prefix}:*`);
  if (keys.length > 0) await store.redis.del(...keys);
  await store.redis.quit();
  rmSync(dataDir, { recursive: true, force: true });
});

function jobDirWithFile(id: string, ageMs: number): string {
  const dir = path.join(dataDir, 'jobs', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'epoch-1.safetensors'), 'x');
  // Object storage has no directories: a job's age is that of its newest object.
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path.join(dir, 'epoch-1.safetensors'), t, t);
  return dir;
}

describe('sweepExpiredJobFiles', () => {
  it('deletes old directories of expired jobs, keeps live, young and foreign ones', async () => {
    const expired = newJobId();
    const live = newJobId();
    const young = newJobId();
    const expiredDir = jobDirWithFile(expired, 2 * 3600_000);
    const liveDir = jobDirWithFile(live, 2 * 3600_000);
    const youngDir = jobDirWithFile(young, 1000);
    const foreign = path.join(dataDir, 'jobs', 'not-a-job');
    mkdirSync(foreign, { recursive: true });
    await store.redis.hset(store.keys.job(live), 'id', live);

    const removed = await sweepExpiredJobFiles(store);
    expect(removed).toEqual([expired]);
    expect(existsSync(expiredDir)).toBe(false);
    expect(existsSync(liveDir)).toBe(true);
    expect(existsSync(youngDir)).toBe(true);
    expect(existsSync(foreign)).toBe(true);
  });

  it('removes temporary objects a killed writer left, once old, and nothing else of a live job', async () => {
    const live = newJobId();
    const dir = jobDirWithFile(live, 2 * 3600_000);
    await store.redis.hset(store.keys.job(live), 'id', live);
    const old = path.join(dir, 'resume.safetensors.123.abcdef.tmp');
    const fresh = path.join(dir, 'epoch-2.safetensors.124.abcdef.tmp');
    writeFileSync(old, 'half');
    writeFileSync(fresh, 'half');
    const t = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(old, t, t);
    expect(await sweepStaleTemporaries(store)).toEqual([`jobs/${live}/resume.safetensors.123.abcdef.tmp`]);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(path.join(dir, 'epoch-1.safetensors'))).toBe(true);
  });

  it('is a no-op without a jobs directory', async () => {
    rmSync(path.join(dataDir, 'jobs'), { recursive: true, force: true });
    expect(await sweepExpiredJobFiles(store)).toEqual([]);
  });
});
