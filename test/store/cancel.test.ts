// Cancel: the flag and the announcement reach a subscriber on another connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCancelRequested, requestCancel, subscribeCancels } from '../../src/store/cancel.js';
import { newJobId } from '../../src/store/ids.js';
import { storeFixture, type StoreFixture } from '../api/helpers.js';

describe('store/cancel', () => {
  let f: StoreFixture;
  beforeAll(async () => {
    f = await storeFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('sets the flag and announces the job id', async () => {
    const id = newJobId();
    const sub = f.redis.duplicate();
    try {
      const heard = new Promise<string>((resolve) => {
        void subscribeCancels(f.store, sub, resolve);
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(await isCancelRequested(f.store, id)).toBe(false);
      await requestCancel(f.store, id);
      expect(await heard).toBe(id);
      expect(await isCancelRequested(f.store, id)).toBe(true);
    } finally {
      sub.disconnect();
    }
  });
});
