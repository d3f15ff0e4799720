// Deletes checkpoint directories (DATA_DIR/jobs/<jobId>/) whose job record has expired: Redis
// forgets finished jobs after RETENTION_SECONDS by itself, but files on the data volume do not.
// Every worker may sweep; deleting twice is harmless.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { deleteJobFiles } from '../src/store/checkpoints.js';
import { isJobId } from '../src/store/ids.js';
import type { Store } from '../src/store/redis.js';

const SWEEP_EVERY_MS = 10 * 60_000;
/** A directory this young may belong to a job whose record is still being written: leave it. */
const MIN_AGE_MS = 60 * 60_000;

/** One pass; returns the job ids whose files were removed. */
export async function sweepExpiredJobFiles(store: Store, now = Date.now(), minAgeMs = MIN_AGE_MS): Promise<string[]> {
  const root = path.join(path.resolve(store.config.dataDir), 'jobs');
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isJobId(name)) continue;
    const info = await stat(path.join(root, name)).catch(() => null);
    if (info === null || now - info.mtimeMs < minAgeMs) continue;
    if ((await store.redis.exists(store.keys.job(name))) === 1) continue;
    await deleteJobFiles(store, name);
    removed.push(name);
  }
  return removed;
}

/** Sweeps now and then every 10 minutes until the returned stop function is called. */
export function startRetentionSweeper(store: Store, logger: Logger): () => void {
  if (store.config.retentionSeconds === 0) return () => undefined;
  const run = () => {
    sweepExpiredJobFiles(store).then(
      (removed) => {
        if (removed.length > 0) logger.info({ jobs: removed.length }, 'removed files of expired jobs');
      },
      (err: unknown) => logger.warn({ err }, 'retention sweep failed'),
    );
  };
  const first = setTimeout(run, 30_000);
  const timer = setInterval(run, SWEEP_EVERY_MS);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
