// Checkpoint bytes in the tenant's usage, on a real Redis and data directory: charged when
// indexed, freed when evicted, a re-written epoch charged once, a checkpoint past the quota
// refused with its file removed, and evicted checkpoints making room for their replacement.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointPath, listCheckpoints, recordBestCheckpoint, saveCheckpoint } from '../../src/store/checkpoints.js';
import { newJobId } from '../../src/store/ids.js';
import { QuotaExceededError, readUsage } from '../../src/store/usage.js';
import { storeFixture, type StoreFixture } from '../api/helpers.js';

const LIMIT = 1000;
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('checkpoint bytes in the tenant usage', () => {
  let f: StoreFixture;
  beforeAll(async () => {
    f = await storeFixture({ MAX_TENANT_BYTES: String(LIMIT) });
  });
  afterAll(async () => {
    await f.close();
  });
  const best = (tenant: string, id: string, epoch: number, size: number, evicted: number[] = []) =>
    recordBestCheckpoint(f.store, id, { tenant, epoch, step: epoch, monitor: 'loss', value: 1 / epoch, bytes: bytes(size, epoch), bestEpoch: epoch, evicted });

  it('charges kept checkpoints, frees evicted ones, charges a re-written epoch once', async () => {
    const id = newJobId();
    await best('t1', id, 1, 300);
    await best('t1', id, 2, 200);
    expect((await readUsage(f.store, 't1')).bytes).toEqual({ datasets: 0, checkpoints: 500, total: 500, limit: LIMIT });
    await best('t1', id, 3, 100, [1]);
    expect((await readUsage(f.store, 't1')).bytes.checkpoints).toBe(300);
    // A restarted attempt saving epoch 3 again (same bytes): nothing more is charged.
    await best('t1', id, 3, 100);
    expect((await readUsage(f.store, 't1')).bytes.checkpoints).toBe(300);
    expect((await readUsage(f.store, 'other')).bytes.checkpoints).toBe(0);
  });

  it('refuses a checkpoint past MAX_TENANT_BYTES and removes its file, keeping the others', async () => {
    const id = newJobId();
    await best('t2', id, 1, 600);
    const err = await best('t2', id, 2, 500).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect((err as QuotaExceededError).message).toContain(`this tenant stores 600 of MAX_TENANT_BYTES=${LIMIT}`);
    expect(existsSync(checkpointPath(f.store, id, 2))).toBe(false);
    expect(existsSync(checkpointPath(f.store, id, 1))).toBe(true);
    expect((await listCheckpoints(f.store, id)).map((c) => c.epoch)).toEqual([1]);
    expect((await readUsage(f.store, 't2')).bytes.checkpoints).toBe(600);
  });

  it('counts the checkpoints a new best evicts as gone: a job at its keep-best limit needs no headroom', async () => {
    const id = newJobId();
    await best('t3', id, 1, 700);
    // 700 + 600 > 1000, but epoch 1 is evicted by this save.
    await best('t3', id, 2, 600, [1]);
    expect((await listCheckpoints(f.store, id)).map((c) => c.epoch)).toEqual([2]);
    expect((await readUsage(f.store, 't3')).bytes.checkpoints).toBe(600);
    // saveCheckpoint on its own (no eviction) is still refused.
    await expect(saveCheckpoint(f.store, id, { tenant: 't3', epoch: 3, step: 3, monitor: 'loss', value: 1, bytes: bytes(500) })).rejects.toBeInstanceOf(QuotaExceededError);
  });
});
