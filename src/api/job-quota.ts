// The storage side of a job submission: refuse a job whose checkpoint cannot fit under
// MAX_TENANT_BYTES, and mark the datasets it names as used (their retention counts from now).
import { builtinInfo, isBuiltinName } from '../data/index.js';
import { checkpointTensorBytes } from '../spec/checkpoint-size.js';
import type { JobSpec } from '../spec/job-spec.js';
import { getDatasetMeta, touchDatasets } from '../store/datasets.js';
import type { Store } from '../store/redis.js';
import { checkQuotaRoom } from '../store/usage.js';

/** The uploaded datasets a spec trains or validates on. */
export function datasetIdsOf(spec: JobSpec): string[] {
  const ids: string[] = [];
  if (typeof spec.dataset === 'string') ids.push(spec.dataset);
  if (spec.validation !== null && 'dataset' in spec.validation) ids.push(spec.validation.dataset);
  return ids;
}

async function inputWidth(s: Store, tenant: string, spec: JobSpec): Promise<number | null> {
  if (typeof spec.dataset !== 'string') return isBuiltinName(spec.dataset.builtin) ? builtinInfo(spec.dataset.builtin).features : null;
  return (await getDatasetMeta(s, spec.dataset, tenant))?.features ?? null;
}

/** Throws QuotaExceededError (403 quota_exceeded) when one checkpoint of the job would not fit now. */
export async function admitJobStorage(s: Store, tenant: string, spec: JobSpec): Promise<void> {
  const features = await inputWidth(s, tenant, spec);
  if (features !== null) await checkQuotaRoom(s, tenant, checkpointTensorBytes(spec, features), 'one checkpoint of this job');
  await touchDatasets(s, datasetIdsOf(spec));
}
