// The event hub: jobs sharded over a few blocking readers, each job fanned out to its subscribers,
// idle ticks while quiet, a job added to a blocked reader read at once, a job gone when its last subscriber leaves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHub, type Subscriber } from '../../src/api/event-hub.js';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { newJobId } from '../../src/store/ids.js';
import { createRedis, createStore } from '../../src/store/redis.js';
import { appendStreamEntry, type StreamEntry } from '../../src/store/stream.js';
import { startPrivateRedis } from '../helpers/redis.js';
import { storeFixture, type StoreFixture } from './helpers.js';

function collector() {
  const got: StreamEntry[] = [];
  let idles = 0;
  const sub: Subscriber = {
    push: (e) => got.push(...e),
    idle: () => {
      idles += 1;
    },
    fail: (err) => {
      throw err;
    },
  };
  return { sub, got, idles: () => idles };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
};

describe('EventHub', () => {
  let f: StoreFixture;
  beforeAll(async () => {
    f = await storeFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('fans a job out to every subscriber, and drops it when they all leave', async () => {
    const hub = new EventHub(f.store, f.redis, { blockMs: 100 });
    const id = newJobId();
    const a = collector();
    const b = collector();
    const offA = hub.subscribe(id, '0', a.sub);
    const offB = hub.subscribe(id, '0', b.sub);
    expect(hub.size).toBe(1);
    const s1 = await appendStreamEntry(f.store, id, 'metrics', { epoch: 1 });
    const s2 = await appendStreamEntry(f.store, id, 'status', { status: 'completed' });
    expect(await until(() => a.got.length === 2 && b.got.length === 2)).toBe(true);
    expect(a.got.map((e) => e.id)).toEqual([s1, s2]);
    expect(b.got).toEqual(a.got);
    expect(await until(() => a.idles() > 0)).toBe(true);
    offA();
    expect(hub.size).toBe(1);
    offB();
    expect(hub.size).toBe(0);
    const other = collector();
    const offOther = hub.subscribe(newJobId(), '0', other.sub);
    hub.close();
    expect(hub.size).toBe(0);
    offOther();
    expect(() => hub.subscribe(id, '0', collector().sub)).toThrow(/closed/);
  });

  it('reads a job added to a blocked shard at once, not after its block times out', async () => {
    // One shard, a 10 s block: without an interrupt the second job would wait up to 10 s.
    const hub = new EventHub(f.store, f.redis, { connections: 1, blockMs: 10_000 });
    try {
      const first = collector();
      hub.subscribe(newJobId(), '0', first.sub);
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 3; i++) {
        const late = collector();
        const id = newJobId();
        hub.subscribe(id, '0', late.sub);
        const started = Date.now();
        const sid = await appendStreamEntry(f.store, id, 'metrics', { epoch: 1 });
        expect(await until(() => late.got.length === 1, 5000)).toBe(true);
        expect(late.got[0]?.id).toBe(sid);
        // Well under the 10 s block (with room for a loaded machine).
        expect(Date.now() - started).toBeLessThan(2500);
      }
      expect(hub.connections).toBe(1);
      expect(first.got).toEqual([]);
    } finally {
      hub.close();
    }
  });

  it('ticks a quiet job on time while a busy job on the same shard keeps waking the read', async () => {
    const hub = new EventHub(f.store, f.redis, { connections: 1, blockMs: 200 });
    try {
      const busy = collector();
      const quiet = collector();
      const busyId = newJobId();
      hub.subscribe(busyId, '0', busy.sub);
      hub.subscribe(newJobId(), '0', quiet.sub);
      const end = Date.now() + 1000;
      while (Date.now() < end) {
        await appendStreamEntry(f.store, busyId, 'metrics', { epoch: 1 });
        await new Promise((r) => setTimeout(r, 20));
      }
      // 1 s of a 200 ms tick: about 5 ticks for the quiet job, none for the busy one.
      expect(quiet.idles()).toBeGreaterThanOrEqual(3);
      expect(quiet.idles()).toBeLessThanOrEqual(7);
      expect(busy.idles()).toBe(0);
      expect(busy.got.length).toBeGreaterThan(10);
    } finally {
      hub.close();
    }
  });

  it('keeps serving the other jobs of a shard when a subscriber throws', async () => {
    const hub = new EventHub(f.store, f.redis, { connections: 1, blockMs: 10_000 });
    try {
      const bad = newJobId();
      const good = newJobId();
      hub.subscribe(bad, '0', { push: () => { throw new Error('broken subscriber'); }, idle: () => undefined, fail: () => undefined });
      const ok = collector();
      hub.subscribe(good, '0', ok.sub);
      await appendStreamEntry(f.store, bad, 'metrics', { epoch: 1 });
      await new Promise((r) => setTimeout(r, 100));
      const sid = await appendStreamEntry(f.store, good, 'metrics', { epoch: 1 });
      expect(await until(() => ok.got.length === 1)).toBe(true);
      expect(ok.got[0]?.id).toBe(sid);
      // Its only subscriber gone, the broken job is no longer followed.
      expect(hub.size).toBe(1);
    } finally {
      hub.close();
    }
  });

  it('falls back to short blocks where Redis refuses CLIENT UNBLOCK, so a new job still waits well under BLOCK_MS', async () => {
    const priv = await startPrivateRedis();
    const admin = new Redis(priv.url);
    // A user that may do everything but CLIENT UNBLOCK, as some managed Redis services set it up.
    await admin.acl('SETUSER', 'sse', 'on', '>pw', '~*', '&*', '+@all', '-client|unblock');
    const config = loadConfig({ REDIS_URL: `redis://sse:pw@127.0.0.1:${priv.port}`, KEY_PREFIX: 'traind-test-acl', LOG_LEVEL: 'silent' });
    const redis = createRedis(config, { name: 'acl-test' });
    const hub = new EventHub(createStore(config, redis), redis, { connections: 1, blockMs: 10_000 });
    try {
      await expect(redis.client('UNBLOCK', 1)).rejects.toThrow(/NOPERM|permission/i);
      const store = createStore(config, redis);
      hub.subscribe(newJobId(), '0', collector().sub);
      await new Promise((r) => setTimeout(r, 300));
      const late = collector();
      const id = newJobId();
      hub.subscribe(id, '0', late.sub);
      const started = Date.now();
      await appendStreamEntry(store, id, 'metrics', { epoch: 1 });
      expect(await until(() => late.got.length === 1, 5000)).toBe(true);
      // Well under the 10 s block (with room for a loaded machine).
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      hub.close();
      redis.disconnect();
      admin.disconnect();
      await priv.dispose();
    }
  });
});
