// The event hub: one reader per job fanned out to its subscribers, idle ticks while quiet, and
// the reader gone when the last subscriber leaves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHub, type Subscriber } from '../../src/api/event-hub.js';
import { newJobId } from '../../src/store/ids.js';
import { appendStreamEntry, type StreamEntry } from '../../src/store/stream.js';
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

  it('fans one reader out to every subscriber of a job, and stops it when they all leave', async () => {
    const hub = new EventHub(f.store, f.redis, 100);
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
});
