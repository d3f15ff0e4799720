// The job stream: pages by exclusive cursor over mixed entries, and the blocking read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJobId } from '../../src/store/ids.js';
import { duplicateForBlocking } from '../../src/store/redis.js';
import { appendStreamEntry, readStreamPage, readStreamsBlocking } from '../../src/store/stream.js';
import { storeFixture, type StoreFixture } from '../api/helpers.js';

describe('store/stream', () => {
  let f: StoreFixture;
  beforeAll(async () => {
    f = await storeFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('pages metrics records past status events without skipping or repeating', async () => {
    const id = newJobId();
    for (let e = 1; e <= 10; e++) {
      if (e % 3 === 0) await appendStreamEntry(f.store, id, 'status', { status: 'running', attempt: e });
      await appendStreamEntry(f.store, id, 'metrics', { epoch: e });
    }
    const epochs: number[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page = await readStreamPage(f.store, id, after, 3, ['metrics']);
      epochs.push(...page.items.map((e) => e.data.epoch as number));
      if (page.items.length === 0) break;
      after = page.nextCursor;
    }
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('blocks on many streams at once and returns the entries of each that has some, with its last id', async () => {
    const a = newJobId();
    const b = newJobId();
    const quiet = newJobId();
    const conn = duplicateForBlocking(f.redis);
    try {
      const key = (jobId: string) => f.store.keys.stream(jobId);
      const pending = readStreamsBlocking(conn, new Map([[key(a), '0'], [key(quiet), '0']]), 10, 5000);
      await new Promise((r) => setTimeout(r, 100));
      const sid = await appendStreamEntry(f.store, a, 'metrics', { epoch: 1 });
      const got = await pending;
      expect([...got.keys()]).toEqual([key(a)]);
      expect(got.get(key(a))).toEqual({ items: [{ id: sid, type: 'metrics', data: { epoch: 1 } }], lastId: sid });

      const b1 = await appendStreamEntry(f.store, b, 'metrics', { epoch: 1 });
      const b2 = await appendStreamEntry(f.store, b, 'status', { status: 'completed' });
      const both = await readStreamsBlocking(conn, new Map([[key(a), '0'], [key(b), b1], [key(quiet), '0']]), 10, 50);
      expect(both.get(key(a))?.lastId).toBe(sid);
      expect(both.get(key(b))?.items.map((e) => e.id)).toEqual([b2]);
      expect(both.has(key(quiet))).toBe(false);

      const none = await readStreamsBlocking(conn, new Map([[key(a), sid], [key(b), b2]]), 10, 50);
      expect(none.size).toBe(0);
    } finally {
      conn.disconnect();
    }
  });
});
