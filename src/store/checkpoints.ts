// The checkpoint store: safetensors objects under jobs/<jobId>/ in the configured storage (DATA_DIR
// or S3), written atomically, indexed in Redis with size and sha256.
import { createHash } from 'node:crypto';
import { LocalStorage } from '../storage/local-storage.js';
import { checkEpoch, checkpointKey, jobPrefix, resumeStateKey, StorePathError } from './object-keys.js';
import type { Store } from './redis.js';
import { addCheckpointRecord, QuotaExceededError, removeCheckpointRecord } from './usage.js';

export { StorePathError };

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

/** The local driver's file of a key (tests and tools that look at DATA_DIR itself). */
export function localFile(s: Store, key: string): string {
  if (!(s.storage instanceof LocalStorage)) throw new Error(`${s.storage.description} is not a local directory`);
  return s.storage.pathOf(key);
}

/** DATA_DIR/jobs/<jobId> with the local driver; refuses anything that is not a job id. */
export function jobDir(s: Store, jobId: string): string {
  return localFile(s, jobPrefix(jobId).slice(0, -1));
}

/** A checkpoint's file with the local driver. */
export function checkpointPath(s: Store, jobId: string, epoch: number): string {
  return localFile(s, checkpointKey(jobId, epoch));
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
  const key = checkpointKey(jobId, c.epoch);
  await s.storage.put(key, c.bytes);
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
    if (err instanceof QuotaExceededError && (await s.redis.hexists(s.keys.checkpoints(jobId), `e:${c.epoch}`)) === 0) await s.storage.delete(key);
    throw err;
  }
  return { ...meta, best: false };
}

export async function markBestCheckpoint(s: Store, jobId: string, epoch: number): Promise<void> {
  checkEpoch(epoch);
  await s.redis.hset(s.keys.checkpoints(jobId), 'best', String(epoch));
}

/** Un-indexes (freeing its bytes), then deletes the object. */
export async function deleteCheckpoint(s: Store, tenant: string, jobId: string, epoch: number): Promise<void> {
  const key = checkpointKey(jobId, epoch);
  await removeCheckpointRecord(s, tenant, jobId, `e:${epoch}`);
  await s.storage.delete(key);
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

/** The epochs the job's checkpoint index names, and its best mark (null: none). */
export async function checkpointIndex(s: Store, jobId: string): Promise<{ epochs: number[]; best: number | null }> {
  const h = await s.redis.hgetall(s.keys.checkpoints(jobId));
  const epochs = Object.keys(h)
    .filter((f) => f.startsWith('e:'))
    .map((f) => Number(f.slice(2)))
    .sort((a, b) => a - b);
  return { epochs, best: h.best === undefined ? null : Number(h.best) };
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
  const bytes = await s.storage.get(checkpointKey(jobId, epoch));
  if (bytes === null) throw new Error(`the checkpoint of ${jobId} for epoch ${epoch} is missing from ${s.storage.description}`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Resume state (weights, optimizer, RNG, schedule, early stopping): one object, replaced atomically. */
/** Writes a job's resume state; `signal` aborts it, leaving the previous one whole. */
export async function writeResumeState(s: Store, jobId: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  await s.storage.put(resumeStateKey(jobId), bytes, signal);
}

export async function readResumeState(s: Store, jobId: string): Promise<Uint8Array | null> {
  const bytes = await s.storage.get(resumeStateKey(jobId));
  return bytes === null ? null : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export async function deleteResumeState(s: Store, jobId: string): Promise<void> {
  await s.storage.delete(resumeStateKey(jobId));
}

/**
 * Removes every object and the index of a job (retention clean-up, after its record expired: the
 * sweeper frees its bytes in the tenant's usage with releaseExpiredJobBytes).
 */
export async function deleteJobFiles(s: Store, jobId: string): Promise<void> {
  await s.redis.del(s.keys.checkpoints(jobId));
  await s.storage.deletePrefix(jobPrefix(jobId));
}
