// The checkpoint store: safetensors files under DATA_DIR/jobs/<jobId>/ (a shared volume when
// several hosts run), written atomically (tmp + rename), indexed in Redis with size and sha256.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isJobId } from './ids.js';
import type { Store } from './redis.js';
import { asStorageFull } from './storage-full.js';
import { addCheckpointRecord, QuotaExceededError, removeCheckpointRecord } from './usage.js';

export interface CheckpointMeta {
  epoch: number;
  step: number;
  /** The monitored metric's name and its value at this epoch. */
  monitor: string;
  value: number | null;
  size: number;
  sha256: string;
  createdAt: string;
  best: boolean;
}

export class StorePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorePathError';
  }
}

function checkEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new StorePathError(`invalid epoch ${String(epoch)}`);
}

/** DATA_DIR/jobs/<jobId>; refuses anything that is not a job id, so no path can escape. */
export function jobDir(s: Store, jobId: string): string {
  if (!isJobId(jobId)) throw new StorePathError('invalid job id');
  return path.join(path.resolve(s.config.dataDir), 'jobs', jobId);
}

export function checkpointPath(s: Store, jobId: string, epoch: number): string {
  checkEpoch(epoch);
  return path.join(jobDir(s, jobId), `epoch-${epoch}.safetensors`);
}

export function resumeStatePath(s: Store, jobId: string): string {
  return path.join(jobDir(s, jobId), 'resume.safetensors');
}

/**
 * Writes via a temporary file in the same directory and renames, so readers never see half a file.
 * A full volume is a StorageFullError naming the file, and leaves no temporary file behind.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const name = path.join(path.basename(path.dirname(file)), path.basename(file));
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, bytes, { flush: true });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw asStorageFull(err, name, bytes.byteLength);
  }
}

function decodeMeta(raw: string | undefined | null, bestEpoch: number | null): CheckpointMeta | null {
  if (raw === undefined || raw === null) return null;
  try {
    const m = JSON.parse(raw) as Omit<CheckpointMeta, 'best'>;
    return { ...m, best: m.epoch === bestEpoch };
  } catch {
    return null;
  }
}

export interface NewCheckpoint {
  /** The job's tenant, whose MAX_TENANT_BYTES quota the file counts against. */
  tenant: string;
  epoch: number;
  step: number;
  monitor: string;
  value: number | null;
  bytes: Uint8Array;
}

/**
 * Writes the file, then indexes it (so the index never names a missing file) and charges its bytes
 * to the tenant. Beyond MAX_TENANT_BYTES the file is removed again and QuotaExceededError thrown;
 * `freeingEpochs` (about to be deleted) do not count against it.
 */
export async function saveCheckpoint(s: Store, jobId: string, c: NewCheckpoint, freeingEpochs: readonly number[] = []): Promise<CheckpointMeta> {
  const file = checkpointPath(s, jobId, c.epoch);
  await writeFileAtomic(file, c.bytes);
  const meta: Omit<CheckpointMeta, 'best'> = {
    epoch: c.epoch,
    step: c.step,
    monitor: c.monitor,
    value: Number.isFinite(c.value) ? c.value : null,
    size: c.bytes.byteLength,
    sha256: createHash('sha256').update(c.bytes).digest('hex'),
    createdAt: new Date().toISOString(),
  };
  try {
    await addCheckpointRecord(s, c.tenant, jobId, `e:${c.epoch}`, JSON.stringify(meta), meta.size, freeingEpochs.map((e) => `e:${e}`));
  } catch (err) {
    // Not over the quota: keep the file unless the index still names it (a restarted attempt
    // re-saving an indexed epoch, charged only the size difference).
    if (err instanceof QuotaExceededError && (await s.redis.hexists(s.keys.checkpoints(jobId), `e:${c.epoch}`)) === 0) await rm(file, { force: true });
    throw err;
  }
  return { ...meta, best: false };
}

export async function markBestCheckpoint(s: Store, jobId: string, epoch: number): Promise<void> {
  checkEpoch(epoch);
  await s.redis.hset(s.keys.checkpoints(jobId), 'best', String(epoch));
}

/** Un-indexes (freeing its bytes), then deletes the file. */
export async function deleteCheckpoint(s: Store, tenant: string, jobId: string, epoch: number): Promise<void> {
  const file = checkpointPath(s, jobId, epoch);
  await removeCheckpointRecord(s, tenant, jobId, `e:${epoch}`);
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * What the worker does in the core's onBest hook: save this epoch's checkpoint, mark the best
 * one, and delete those the core evicted from its keep-best-N ranking. The quota check counts the
 * evicted ones as already gone, so a job at its keep-best limit needs no headroom beyond it.
 */
export async function recordBestCheckpoint(
  s: Store,
  jobId: string,
  c: NewCheckpoint & { bestEpoch: number; evicted: readonly number[] },
): Promise<CheckpointMeta> {
  const evicted = c.evicted.filter((e) => e !== c.epoch);
  const meta = await saveCheckpoint(s, jobId, c, evicted);
  await markBestCheckpoint(s, jobId, c.bestEpoch);
  for (const e of evicted) await deleteCheckpoint(s, c.tenant, jobId, e);
  return { ...meta, best: c.bestEpoch === c.epoch };
}

/** The kept checkpoints, oldest epoch first. */
export async function listCheckpoints(s: Store, jobId: string): Promise<CheckpointMeta[]> {
  const h = await s.redis.hgetall(s.keys.checkpoints(jobId));
  const best = h.best === undefined ? null : Number(h.best);
  const out: CheckpointMeta[] = [];
  for (const [field, raw] of Object.entries(h)) {
    if (!field.startsWith('e:')) continue;
    const m = decodeMeta(raw, best);
    if (m !== null) out.push(m);
  }
  return out.sort((a, b) => a.epoch - b.epoch);
}

/** One checkpoint's metadata by epoch or 'best', or null. */
export async function getCheckpoint(s: Store, jobId: string, which: number | 'best'): Promise<CheckpointMeta | null> {
  const key = s.keys.checkpoints(jobId);
  const bestRaw = await s.redis.hget(key, 'best');
  const best = bestRaw === null ? null : Number(bestRaw);
  const epoch = which === 'best' ? best : which;
  if (epoch === null) return null;
  checkEpoch(epoch);
  return decodeMeta(await s.redis.hget(key, `e:${epoch}`), best);
}

export async function readCheckpointBytes(s: Store, jobId: string, epoch: number): Promise<Uint8Array> {
  return new Uint8Array(await readFile(checkpointPath(s, jobId, epoch)));
}

/** Resume state (weights, optimizer, RNG, schedule, early stopping): one file, replaced atomically. */
export async function writeResumeState(s: Store, jobId: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(resumeStatePath(s, jobId), bytes);
}

export async function readResumeState(s: Store, jobId: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await readFile(resumeStatePath(s, jobId)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function deleteResumeState(s: Store, jobId: string): Promise<void> {
  await rm(resumeStatePath(s, jobId), { force: true });
}

/**
 * Removes every file and the index of a job (retention clean-up, after its record expired: the
 * sweeper frees its bytes in the tenant's usage with releaseExpiredJobBytes).
 */
export async function deleteJobFiles(s: Store, jobId: string): Promise<void> {
  await s.redis.del(s.keys.checkpoints(jobId));
  await rm(jobDir(s, jobId), { recursive: true, force: true });
}
