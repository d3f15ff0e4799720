// Submission of a fine-tuning job (`initFrom`): find the parent's checkpoint (the parent must be
// this tenant's job: 404 otherwise), pin a verified copy of it for the child, check the child's
// layers against the copy's model, and charge the copy to the tenant. The resolved `initFrom`
// names the epoch and sha256 the child starts from.
import type { InitFrom, JobSpec } from '../spec/job-spec.js';
import { checkInitFrom, checkpointModelOf } from '../spec/init-from.js';
import { getCheckpoint } from '../store/checkpoints.js';
import { chargeInitCheckpoint, dropInitCheckpoint, pinInitCheckpoint } from '../store/init-checkpoint.js';
import { getJob } from '../store/jobs.js';
import type { Store } from '../store/redis.js';
import { ApiError, issuesError, type Issue } from './errors.js';
import { keptEpochs } from './init-from-check.js';
import { specIssue } from './validate-spec.js';

/** What the child records: the parent job, the epoch of its checkpoint, and that file's sha256. */
export interface ResolvedInitFrom {
  job: string;
  checkpoint: number;
  sha256: string;
}

function refused(path: string, message: string): ApiError {
  const issue: Issue = { path, message, in: 'body' };
  return issuesError('invalid_spec', [issue]);
}


/**
 * Pins the parent checkpoint for job `childId` and checks the spec against it; on any refusal
 * nothing stays pinned or charged. The caller undoes the pin (dropInitCheckpoint) when the job is
 * not created after all.
 */
export async function pinParentCheckpoint(s: Store, tenant: string, childId: string, spec: JobSpec, initFrom: InitFrom, features: number): Promise<ResolvedInitFrom> {
  const parent = await getJob(s, initFrom.job, tenant);
  if (parent === null) throw new ApiError('not_found', `initFrom.job: job ${initFrom.job} not found`, { path: 'initFrom.job' });
  // One retry covers a best checkpoint evicted between reading the index and copying its file.
  for (let attempt = 1; ; attempt++) {
    const meta = await getCheckpoint(s, parent.id, initFrom.checkpoint);
    if (meta === null) {
      const which = initFrom.checkpoint === 'best' ? 'no checkpoint yet' : `no checkpoint for epoch ${initFrom.checkpoint}`;
      throw refused('initFrom.checkpoint', `job ${parent.id} has ${which} (${await keptEpochs(s, parent.id)})`);
    }
    if (initFrom.sha256 !== undefined && initFrom.sha256 !== meta.sha256) {
      throw refused('initFrom.sha256', `the checkpoint of job ${parent.id} at epoch ${meta.epoch} has sha256 ${meta.sha256}, not ${initFrom.sha256}`);
    }
    const metadata = await pinInitCheckpoint(s, childId, parent.id, meta);
    if (metadata === null) {
      if (attempt >= 2) throw new ApiError('unavailable', `the checkpoint of job ${parent.id} was replaced while it was being copied; retry`);
      continue;
    }
    try {
      const model = checkpointModelOf(metadata);
      if (model === null) throw refused('initFrom.job', `the checkpoint of job ${parent.id} at epoch ${meta.epoch} does not describe its model (written by another version)`);
      const issues = checkInitFrom(spec, features, model);
      if (issues.length > 0) throw issuesError('invalid_spec', issues.map(specIssue));
      await chargeInitCheckpoint(s, tenant, childId, meta);
    } catch (err) {
      await dropInitCheckpoint(s, tenant, childId);
      throw err;
    }
    return { job: parent.id, checkpoint: meta.epoch, sha256: meta.sha256 };
  }
}
