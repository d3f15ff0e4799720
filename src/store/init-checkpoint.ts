// A fine-tuned job's starting checkpoint, pinned at submission: a copy of the parent's checkpoint
// object in the child's own place (jobs/<child>/init.safetensors), verified against the parent's
// recorded sha256 and charged to the tenant like a kept checkpoint. The child never reads the
// parent's objects again, so the parent's retention or eviction cannot take its start away.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { getCheckpoint, type CheckpointMeta } from './checkpoints.js';
import { checkpointKey, initCheckpointKey, jobPrefix } from './object-keys.js';
import type { Store } from './redis.js';
import { addCheckpointRecord, removeCheckpointRecord } from './usage.js';
import { CheckpointCorruptError } from './verified-checkpoint.js';

/** The checkpoint index field that charges the pinned copy (not an epoch: listings skip it). */
const INIT_FIELD = 'init';
/** A checkpoint header larger than this is not ours (ours hold the spec and the metrics: kilobytes). */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

async function sha256Of(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The `__metadata__` of a safetensors file, reading only its header. */
export async function readCheckpointMetadata(handle: FileHandle): Promise<Record<string, string>> {
  const prefix = Buffer.alloc(8);
  await handle.read(prefix, 0, 8, 0);
  const length = Number(prefix.readBigUInt64LE(0));
  if (length < 2 || length > MAX_HEADER_BYTES) throw new Error(`a header of ${length} bytes`);
  const header = Buffer.alloc(length);
  const { bytesRead } = await handle.read(header, 0, length, 8);
  if (bytesRead !== length) throw new Error('a truncated header');
  const parsed = JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, string> };
  return parsed.__metadata__ ?? {};
}

/** The `__metadata__` of a stored checkpoint, reading only its header (two ranged reads); null when it is gone. */
export async function readStoredCheckpointMetadata(s: Store, key: string): Promise<Record<string, string> | null> {
  const prefix = await s.storage.read(key, 0, 8);
  if (prefix === null) return null;
  if (prefix.length < 8) throw new Error('a truncated header');
  const length = Number(prefix.readBigUInt64LE(0));
  if (length < 2 || length > MAX_HEADER_BYTES) throw new Error(`a header of ${length} bytes`);
  const header = await s.storage.read(key, 8, length);
  if (header === null) return null;
  if (header.length !== length) throw new Error('a truncated header');
  const parsed = JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, string> };
  return parsed.__metadata__ ?? {};
}

/**
 * Copies the parent's checkpoint `meta` into the child's place, checks the copy against the size
 * and sha256 recorded for it and returns the copy's `__metadata__`. Null when the checkpoint was
 * evicted meanwhile (no longer indexed); CheckpointCorruptError when the parent's object differs
 * from its record. On any error the copy is removed again.
 */
export async function pinInitCheckpoint(s: Store, childId: string, parentId: string, meta: CheckpointMeta): Promise<Record<string, string> | null> {
  const key = initCheckpointKey(childId);
  if (!(await s.storage.copy(checkpointKey(parentId, meta.epoch), key))) {
    const now = await getCheckpoint(s, parentId, meta.epoch);
    if (now === null || now.sha256 !== meta.sha256) return null;
    throw new CheckpointCorruptError(parentId, meta.epoch, 'the file is missing');
  }
  try {
    const copy = await s.storage.open(key);
    if (copy === null) throw new CheckpointCorruptError(parentId, meta.epoch, 'the copy vanished');
    try {
      if (copy.size !== meta.size) throw new CheckpointCorruptError(parentId, meta.epoch, `${copy.size} bytes on disk, ${meta.size} recorded`);
      const sha256 = await sha256Of(copy.handle);
      if (sha256 !== meta.sha256) throw new CheckpointCorruptError(parentId, meta.epoch, `sha256 ${sha256} on disk, ${meta.sha256} recorded`);
      return await readCheckpointMetadata(copy.handle);
    } finally {
      await copy.handle.close();
    }
  } catch (err) {
    // The child is new: nothing but this copy is under its prefix.
    await s.storage.deletePrefix(jobPrefix(childId));
    throw err;
  }
}

/** Charges the pinned copy to the tenant (QuotaExceededError past MAX_TENANT_BYTES). */
export async function chargeInitCheckpoint(s: Store, tenant: string, childId: string, meta: CheckpointMeta): Promise<void> {
  const record = { epoch: meta.epoch, size: meta.size, sha256: meta.sha256 };
  await addCheckpointRecord(s, tenant, childId, INIT_FIELD, JSON.stringify(record), meta.size);
}

/** Undoes a pin (a submission refused after it): the charge, then the objects. */
export async function dropInitCheckpoint(s: Store, tenant: string, childId: string): Promise<void> {
  await removeCheckpointRecord(s, tenant, childId, INIT_FIELD);
  await s.storage.deletePrefix(jobPrefix(childId));
}

export class InitCheckpointError extends Error {
  override readonly name = 'InitCheckpointError';
}

/** The pinned starting checkpoint's bytes, checked against the sha256 in the job's spec. */
export async function readInitCheckpoint(s: Store, jobId: string, sha256: string): Promise<Uint8Array> {
  const bytes = await s.storage.get(initCheckpointKey(jobId));
  if (bytes === null) throw new InitCheckpointError(`the starting checkpoint pinned at submission is missing from ${s.storage.description}`);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new InitCheckpointError(`the starting checkpoint pinned at submission is corrupt: sha256 ${actual} on disk, ${sha256} recorded`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
