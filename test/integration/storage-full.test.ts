// A full DATA_DIR, for real: a 256 KiB tmpfs as the data volume. An upload that does not fit is a
// 507 naming storage (and leaves no partial file); a job whose checkpoint does not fit fails with
// a reason that says the storage is full. Mounting needs root: elsewhere the suite is skipped visibly.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startStack, waitForJob, type Stack } from './stack.js';

const TMPFS_BYTES = 256 * 1024;

/** Mounts a tmpfs of `bytes` on a new directory, or null when this process may not mount. */
function mountTinyTmpfs(bytes: number): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = mkdtempSync(path.join(tmpdir(), 'traind-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const volume = mountTinyTmpfs(TMPFS_BYTES);

describe.runIf(volume !== null)('a full DATA_DIR (tmpfs of 256 KiB)', () => {
  let stack: Stack;
  const dataDir = volume as string;
  beforeAll(async () => {
    stack = await startStack({ workers: 1, env: { DATA_DIR: dataDir, MAX_ATTEMPTS: '2', BACKOFF_MS: '100' } });
  });
  afterAll(async () => {
    await stack?.stop();
    execFileSync('umount', [dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers an upload that does not fit with 507 insufficient_storage, keeps no partial file, and takes one that fits', async () => {
    // 40,000 rows × 3 float32 values = 480 KB stored: more than the volume holds.
    const big = 'a,b,label\n' + Array.from({ length: 40_000 }, (_, i) => `${i % 7},${i % 5},${i % 2}`).join('\n');
    const res = await fetch(`${stack.baseUrl}/v1/datasets`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: big });
    expect(res.status).toBe(507);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('insufficient_storage');
    expect(body.error.message).toMatch(/storage \(DATA_DIR\) is full/);
    expect(filesUnder(dataDir)).toEqual([]);

    const small = await fetch(`${stack.baseUrl}/v1/datasets`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b,label\n1,2,0\n3,4,1\n' });
    expect(small.status).toBe(201);
  });

  it('fails a job whose checkpoint does not fit, with a reason that says the storage is full', async () => {
    // 100,002 parameters: a 400 KB checkpoint on a 256 KiB volume.
    const spec = {
      dataset: { builtin: 'xor' },
      model: { layers: [{ type: 'dense', units: 20_000, activation: 'tanh' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      epochs: 2,
      seed: 1,
    };
    const { status, body: job } = await api<{ id: string }>(stack, 'POST', '/v1/jobs', spec);
    expect(status).toBe(201);
    const failed = await waitForJob<{ status: string; reason: string | null; error: string | null }>(stack, job.id, (j) => j.status === 'failed', 60_000);
    expect(failed.reason).toMatch(/^error: storage full: no space left in DATA_DIR \(ENOSPC\) writing job_\w+\/epoch-1\.safetensors, \d+ bytes$/);
    expect(failed.error).toMatch(/storage full/);
    expect(filesUnder(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
