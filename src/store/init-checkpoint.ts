// A fine-tuned job's starting checkpoint, pinned at submission: a copy of the parent's checkpoint
// file in the child's own directory (DATA_DIR/jobs/<child>/init.safetensors), verified against the
// parent's recorded sha256 and charged to the tenant like a kept checkpoint. The child never reads
// the parent's files again, so the parent's retention or eviction cannot take its start away.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { checkpointPath, getCheckpoint, jobDir, type CheckpointMeta } from './checkpoints.js';
import type { Store } from './redis.js';
import { asStorageFull } from './storage-full.js';
import { addCheckpointRecord, removeCheckpointRecord } from './usage.js';
import { CheckpointCorruptError } from './verified-checkpoint.js';

/** The checkpoint index field that charges the pinned copy (not an epoch: listings skip it). */
const INIT_FIELD = 'init';
/** A checkpoint header larger than this is not ours (ours hold the spec and the metrics: kilobytes). */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export function initCheckpointPath(s: Store, jobId: string): string {
  return path.join(jobDir(s, jobId), 'init.safetensors');
}

async function sha256OfFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/** The `__metadata__` of a safetensors file, reading only its header. */
export async function readCheckpointMetadata(file: string): Promise<Record<string, string>> {
  const handle = await open(file, 'r');
  try {
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const length = Number(prefix.readBigUInt64LE(0));
    if (length < 2 || length > MAX_HEADER_BYTES) throw new Error(`a header of ${length} bytes`);
    const header = Buffer.alloc(length);
    const { bytesRead } = await handle.read(header, 0, length, 8);
    if (bytesRead !== length) throw new Error('a truncated header');
    const parsed = JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, string> };
    return parsed.__metadata__ ?? {};
  } finally {
    await handle.close();
  }
}

/**
 * Copies the parent's checkpoint `meta` into the child's directory and checks the copy against the
 * size and sha256 recorded for it. Null when the checkpoint was evicted meanwhile (no longer
 * indexed); CheckpointCorruptError when the parent's file differs from its record.
 */
export async function pinInitCheckpoint(s: Store, childId: string, parentId: string, meta: CheckpointMeta): Promise<string | null> {
  const file = initCheckpointPath(s, childId);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    try {
      await copyFile(checkpointPath(s, parentId, meta.epoch), tmp);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const now = await getCheckpoint(s, parentId, meta.epoch);
      if (now === null || now.sha256 !== meta.sha256) return null;
      throw new CheckpointCorruptError(parentId, meta.epoch, 'the file is missing');
    }
    const copied = await sha256OfFile(tmp);
    if (copied.size !== meta.size) throw new CheckpointCorruptError(parentId, meta.epoch, `${copied.size} bytes on disk, ${meta.size} recorded`);
    if (copied.sha256 !== meta.sha256) throw new CheckpointCorruptError(parentId, meta.epoch, `sha256 ${copied.sha256} on disk, ${meta.sha256} recorded`);
    await rename(tmp, file);
    return file;
  } catch (err) {
    await rm(tmp, { force: true });
    throw asStorageFull(err, path.join(childId, 'init.safetensors'), meta.size);
  }
}

/** Charges the pinned copy to the tenant (QuotaExceededError past MAX_TENANT_BYTES). */
export async function chargeInitCheckpoint(s: Store, tenant: string, childId: string, meta: CheckpointMeta): Promise<void> {
  const record = { epoch: meta.epoch, size: meta.size, sha256: meta.sha256 };
  await addCheckpointRecord(s, tenant, childId, INIT_FIELD, JSON.stringify(record), meta.size);
}

/** Undoes a pin (a submission refused after it): the charge, then the file. */
export async function dropInitCheckpoint(s: Store, tenant: string, childId: string): Promise<void> {
  await removeCheckpointRecord(s, tenant, childId, INIT_FIELD);
  await rm(jobDir(s, childId), { recursive: true, force: true });
}

export class InitCheckpointError extends Error {
  override readonly name = 'InitCheckpointError';
}

/** The pinned starting checkpoint's bytes, checked against the sha256 in the job's spec. */
export async function readInitCheckpoint(s: Store, jobId: string, sha256: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(initCheckpointPath(s, jobId));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InitCheckpointError('the starting checkpoint pinned at submission is missing from DATA_DIR');
    throw err;
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new InitCheckpointError(`the starting checkpoint pinned at submission is corrupt: sha256 ${actual} on disk, ${sha256} recorded`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
