// The submission-time check of `initFrom` against the parent's checkpoint, without pinning it:
// the parent is this tenant's job, the checkpoint is kept (with the sha256 asked for), and the
// spec's layers fit the model its header describes. Used by every submission (jobs and sweeps'
// trials); the jobs route then pins the checkpoint (init-from.ts) and checks the copy again.
import type { InitFrom, JobSpec } from '../spec/job-spec.js';
import { checkInitFrom, checkpointModelOf } from '../spec/init-from.js';
import { getCheckpoint, listCheckpoints } from '../store/checkpoints.js';
import { readStoredCheckpointMetadata } from '../store/init-checkpoint.js';
import { getJob } from '../store/jobs.js';
import { checkpointKey } from '../store/object-keys.js';
import type { Store } from '../store/redis.js';
import type { Issue } from './errors.js';

function issue(path: string, message: string): Issue {
  return { path, message, in: 'body' };
}

/** "kept: 3, 5" or "none kept": what a refused `initFrom.checkpoint` could have named. */
export async function keptEpochs(s: Store, jobId: string): Promise<string> {
  const epochs = (await listCheckpoints(s, jobId)).map((c) => c.epoch);
  return epochs.length === 0 ? 'none kept' : `kept: ${epochs.join(', ')}`;
}

/** Issues of a spec with `initFrom` on a dataset of `features` inputs; [] when it fits. */
export async function initFromIssues(s: Store, tenant: string, spec: JobSpec, initFrom: InitFrom, features: number): Promise<Issue[]> {
  const parent = await getJob(s, initFrom.job, tenant);
  if (parent === null) return [issue('initFrom.job', `job ${initFrom.job} not found`)];
  const meta = await getCheckpoint(s, parent.id, initFrom.checkpoint);
  if (meta === null) {
    const which = initFrom.checkpoint === 'best' ? 'no checkpoint yet' : `no checkpoint for epoch ${initFrom.checkpoint}`;
    return [issue('initFrom.checkpoint', `job ${parent.id} has ${which} (${await keptEpochs(s, parent.id)})`)];
  }
  if (initFrom.sha256 !== undefined && initFrom.sha256 !== meta.sha256) {
    return [issue('initFrom.sha256', `the checkpoint of job ${parent.id} at epoch ${meta.epoch} has sha256 ${meta.sha256}, not ${initFrom.sha256}`)];
  }
  // The header only; the bytes are verified when the checkpoint is pinned for the new job.
  let metadata: Record<string, string> | null;
  try {
    metadata = await readStoredCheckpointMetadata(s, checkpointKey(parent.id, meta.epoch));
  } catch {
    return [];
  }
  if (metadata === null) return [];
  const model = checkpointModelOf(metadata);
  if (model === null) return [issue('initFrom.job', `the checkpoint of job ${parent.id} at epoch ${meta.epoch} does not describe its model (written by another version)`)];
  return checkInitFrom(spec, features, model).map((i) => issue(i.path.join('.'), i.message));
}
