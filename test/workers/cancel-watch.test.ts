// A trainer's cancel watch on a real Redis, and what a cancel stops: the pub/sub message (or the
// flag already set) aborts the job's signal, which stops its resume-state write and leaves the
// previous resume state whole.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { requestCancel } from '../../src/store/cancel.js';
import { readResumeState } from '../../src/store/checkpoints.js';
import { newJobId } from '../../src/store/ids.js';
import { resumeStateKey } from '../../src/store/object-keys.js';
import { createRedis, createStore, type Store } from '../../src/store/redis.js';
import { createCancelWatcher, type CancelWatcher } from '../../workers/cancel-watch.js';
import { createJobHooks } from '../../workers/hooks.js';
import { deletePrefixedKeys, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

let config: Config;
let store: Store;
let subscriber: Store['redis'];
let watcher: CancelWatcher;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'traind-cancel-watch-'));
  config = loadConfig({ REDIS_URL: SHARED_REDIS_URL, KEY_PREFIX: uniquePrefix('cancel-watch'), DATA_DIR: dataDir });
  store = createStore(config, createRedis(config, { name: 'cancel-watch-test' }));
  subscriber = createRedis(config, { name: 'cancel-watch-test-sub' });
  watcher = await createCancelWatcher(store, subscriber);
});

afterAll(async () => {
  await watcher?.close();
  await deletePrefixedKeys(SHARED_REDIS_URL, config.keyPrefix).catch(() => undefined);
  store?.redis.disconnect();
  subscriber?.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
});

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.storage.list(prefix)) keys.push(o.key);
  return keys;
}

describe('cancel watch', () => {
  it('a cancel message aborts the watched job\'s signal; a flag set before the watch (its message unheard) is seen at once', async () => {
    const runningId = newJobId();
    const running = await watcher.watch(runningId);
    const other = await watcher.watch(newJobId());
    try {
      expect(running.cancelled).toBe(false);
      const aborted = new Promise<void>((resolve) => running.signal.addEventListener('abort', () => resolve(), { once: true }));
      await requestCancel(store, runningId);
      await aborted;
      expect(running.cancelled).toBe(true);
      // The message, not the 1 s poll of the flag.
      expect(running.seen?.via).toBe('message');
      expect(other.cancelled).toBe(false);
    } finally {
      running.stop();
      other.stop();
    }

    // A cancel whose message nobody heard (sent before this trainer watched): its flag alone.
    const jobId = newJobId();
    await store.redis.set(store.keys.cancel(jobId), '1');
    const late = await watcher.watch(jobId);
    late.stop();
    expect(late.seen?.via).toBe('flag');
    expect(late.signal.aborted).toBe(true);
  });
});

describe('a cancelled job\'s resume-state write', () => {
  it('stops when the cancel comes during it: the previous resume state stays whole, no temporary object is left, and none is written after', async () => {
    const job = { id: newJobId(), tenant: 'default' };
    const cancel = new AbortController();
    const hooks = createJobHooks({ config, store, cancels: watcher, logger: pino({ level: 'silent' }) }, job, 1, 10, cancel.signal);
    const previous = new Uint8Array(1024).fill(1);
    await hooks.onLatest({ epoch: 1, bytes: previous });

    // 32 MiB: written in 512 KiB pieces, so the cancel lands inside the write.
    const next = new Uint8Array(32 * 1024 * 1024).fill(2);
    const writing = hooks.onLatest({ epoch: 2, bytes: next });
    setImmediate(() => cancel.abort());
    await writing;
    expect(Buffer.from((await readResumeState(store, job.id))!).equals(Buffer.from(previous))).toBe(true);
    expect(await keysUnder(`jobs/${job.id}/`)).toEqual([resumeStateKey(job.id)]);

    await hooks.onLatest({ epoch: 3, bytes: next });
    expect(Buffer.from((await readResumeState(store, job.id))!).equals(Buffer.from(previous))).toBe(true);
  });
});
