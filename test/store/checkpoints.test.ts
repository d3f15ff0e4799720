// The checkpoint store: atomic files + Redis index (size, sha256, best), eviction, resume state,
// and ids that cannot escape DATA_DIR.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointPath,
  getCheckpoint,
  jobDir,
  listCheckpoints,
  readCheckpointBytes,
  readResumeState,
  recordBestCheckpoint,
  writeResumeState,
} from '../../src/store/checkpoints.js';
import { newJobId } from '../../src/store/ids.js';
import { storeFixture, type StoreFixture } from '../api/helpers.js';

describe('store/checkpoints', () => {
  let f: StoreFixture;
  beforeAll(async () => {
    f = await storeFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('writes, indexes, ranks best and evicts', async () => {
    const id = newJobId();
    const bytes = (n: number) => new Uint8Array(16 + n).fill(n);
    await recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: 1, step: 10, monitor: 'val_loss', value: 0.9, bytes: bytes(1), bestEpoch: 1, evicted: [] });
    await recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: 2, step: 20, monitor: 'val_loss', value: 0.5, bytes: bytes(2), bestEpoch: 2, evicted: [] });
    const m3 = await recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: 3, step: 30, monitor: 'val_loss', value: 0.7, bytes: bytes(3), bestEpoch: 2, evicted: [1] });
    expect(m3.best).toBe(false);
    const list = await listCheckpoints(f.store, id);
    expect(list.map((c) => [c.epoch, c.value, c.best, c.size])).toEqual([
      [2, 0.5, true, 18],
      [3, 0.7, false, 19],
    ]);
    expect(list[0]!.sha256).toBe(createHash('sha256').update(bytes(2)).digest('hex'));
    expect((await getCheckpoint(f.store, id, 'best'))!.epoch).toBe(2);
    expect(await getCheckpoint(f.store, id, 1)).toBeNull();
    expect(await readCheckpointBytes(f.store, id, 3)).toEqual(bytes(3));
    expect((await readdir(jobDir(f.store, id))).sort()).toEqual(['epoch-2.safetensors', 'epoch-3.safetensors']);
  });

  it('keeps resume state in one replaceable file', async () => {
    const id = newJobId();
    expect(await readResumeState(f.store, id)).toBeNull();
    await writeResumeState(f.store, id, new Uint8Array([1, 2, 3]));
    await writeResumeState(f.store, id, new Uint8Array([4, 5]));
    expect(await readResumeState(f.store, id)).toEqual(new Uint8Array([4, 5]));
  });

  it('refuses ids and epochs that could escape the data directory', () => {
    expect(() => jobDir(f.store, '../../etc')).toThrow(/invalid job id/);
    expect(() => jobDir(f.store, 'job_01JD0000000000000000000000/../x')).toThrow(/invalid job id/);
    expect(() => checkpointPath(f.store, newJobId(), -1)).toThrow(/invalid epoch/);
    expect(path.dirname(jobDir(f.store, newJobId()))).toBe(path.join(path.resolve(f.dataDir), 'jobs'));
  });
});
