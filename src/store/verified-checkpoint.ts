// Reading a checkpoint file back: its bytes must be exactly those indexed when it was written
// (size and sha256), so a file damaged, truncated or swapped on disk is an error, never output.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { checkpointPath, getCheckpoint, type CheckpointMeta } from './checkpoints.js';
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

/** Inode, size, mtime and ctime in nanoseconds: any rename onto the path or write changes it. */
export function fileIdentity(st: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
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
async function openIndexed(s: Store, jobId: string, meta: CheckpointMeta): Promise<FileHandle | null> {
  try {
    return await open(checkpointPath(s, jobId, meta.epoch), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const now = await getCheckpoint(s, jobId, meta.epoch);
    if (now === null || now.sha256 !== meta.sha256) return null;
    throw new CheckpointCorruptError(jobId, meta.epoch, 'the file is missing');
  }
}

async function checkSize(handle: FileHandle, jobId: string, meta: CheckpointMeta): Promise<void> {
  const { size } = await handle.stat();
  if (size !== meta.size) throw new CheckpointCorruptError(jobId, meta.epoch, `${size} bytes on disk, ${meta.size} recorded`);
}

function checkSha256(actual: string, jobId: string, meta: CheckpointMeta): void {
  if (actual !== meta.sha256) throw new CheckpointCorruptError(jobId, meta.epoch, `sha256 ${actual} on disk, ${meta.sha256} recorded`);
}

/**
 * Opens the checkpoint and checks its size and sha256 against the index, for streaming: the caller
 * reads from the returned handle (the inode that was hashed, whatever is renamed onto the path
 * meanwhile) and closes it. Null when the checkpoint was evicted meanwhile.
 */
export async function openVerifiedCheckpoint(s: Store, jobId: string, meta: CheckpointMeta): Promise<FileHandle | null> {
  const handle = await openIndexed(s, jobId, meta);
  if (handle === null) return null;
  try {
    await checkSize(handle, jobId, meta);
    checkSha256(await sha256Of(handle), jobId, meta);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}
