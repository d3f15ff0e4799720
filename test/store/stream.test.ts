// The job stream: pages by exclusive cursor over mixed entries, and the blocking read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJobId } from '../../src/store/ids.js';
import { duplicateForBlocking } from '../../src/store/redis.js';
import { appendStreamEntry, readStreamBlocking, readStreamPage } from '../../src/store/stream.js';
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

  it('blocks until an entry arrives and returns it with its id', async () => {
    const id = newJobId();
    const conn = duplicateForBlocking(f.redis);
    try {
      const pending = readStreamBlocking(conn, f.store, id, '0', 10, 5000);
      await new Promise((r) => setTimeout(r, 100));
      const sid = await appendStreamEntry(f.store, id, 'metrics', { epoch: 1 });
      const { items, lastId } = await pending;
      expect(items).toEqual([{ id: sid, type: 'metrics', data: { epoch: 1 } }]);
      expect(lastId).toBe(sid);
      const none = await readStreamBlocking(conn, f.store, id, lastId, 10, 50);
      expect(none).toEqual({ items: [], lastId: sid });
    } finally {
      conn.disconnect();
    }
  });
});
