// Reading a checkpoint back: its bytes must be exactly those indexed when it was written (size and
// sha256), so an object damaged, truncated or swapped in the storage is an error, never output.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { OpenedObject } from '../storage/storage.js';
import { getCheckpoint, type CheckpointMeta } from './checkpoints.js';
import { checkpointKey } from './object-keys.js';
import type { Store } from './redis.js';

export class CheckpointCorruptError extends Error {
  override readonly name = 'CheckpointCorruptError';
  constructor(
    readonly jobId: string,
    readonly epoch: number,
    readonly reason: string,
  ) {
    super(`the stored checkpoint of ${jobId} for epoch ${epoch} is corrupt: ${reason}`);
  }
}

async function sha256Of(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Opens the checkpoint file `meta` indexes, or null when it is gone because the checkpoint was
 * evicted meanwhile (no longer indexed); a file missing under its index entry is corrupt.
 */
async function openIndexed(s: Store, jobId: string, meta: CheckpointMeta): Promise<OpenedObject | null> {
  const opened = await s.storage.open(checkpointKey(jobId, meta.epoch));
  if (opened !== null) return opened;
  const now = await getCheckpoint(s, jobId, meta.epoch);
  if (now === null || now.sha256 !== meta.sha256) return null;
  throw new CheckpointCorruptError(jobId, meta.epoch, 'the file is missing');
}

function checkSize(size: number, jobId: string, meta: CheckpointMeta): void {
  if (size !== meta.size) throw new CheckpointCorruptError(jobId, meta.epoch, `${size} bytes on disk, ${meta.size} recorded`);
}

function checkSha256(actual: string, jobId: string, meta: CheckpointMeta): void {
  if (actual !== meta.sha256) throw new CheckpointCorruptError(jobId, meta.epoch, `sha256 ${actual} on disk, ${meta.sha256} recorded`);
}

/**
 * Opens the checkpoint and checks its size and sha256 against the index, for streaming: the caller
 * reads from the returned handle (the bytes that were hashed, whatever is written to the key
 * meanwhile) and closes it. Null when the checkpoint was evicted meanwhile.
 */
export async function openVerifiedCheckpoint(s: Store, jobId: string, meta: CheckpointMeta): Promise<FileHandle | null> {
  const opened = await openIndexed(s, jobId, meta);
  if (opened === null) return null;
  try {
    checkSize(opened.size, jobId, meta);
    checkSha256(await sha256Of(opened.handle), jobId, meta);
    return opened.handle;
  } catch (err) {
    await opened.handle.close();
    throw err;
  }
}
