// Submission-time checks beyond the schema: the referenced datasets exist for this tenant, and
// the spec fits them and the configured limits. Returns issues with spec field paths.
import { CoreError, validateConfig } from '../core/index.js';
import { builtinInfo, isBuiltinName } from '../data/index.js';
import type { JobSpec, SpecIssue } from '../spec/job-spec.js';
import { checkMemoryLimit, specMemoryEstimate, type JobMemoryEstimate } from '../spec/memory-estimate.js';
import { checkSpecAgainstDataset, checkSpecLimits, resolveSpec, toTrainConfig, trainingRows, type DatasetInfo } from '../spec/to-train-config.js';
import { getUpload } from '../store/dataset-uploads.js';
import { getDatasetMeta, type DatasetMeta } from '../store/datasets.js';
import type { Store } from '../store/redis.js';
import { ApiError, type Issue } from './errors.js';
import { initFromIssues } from './init-from-check.js';

export function specIssue(i: SpecIssue): Issue {
  return { path: i.path.join('.'), message: i.message, in: 'body' };
}

async function resolveDataset(s: Store, tenant: string, ref: string | { builtin: string }, path = 'dataset'): Promise<DatasetInfo | null> {
  if (typeof ref === 'object') return isBuiltinName(ref.builtin) ? builtinInfo(ref.builtin) : null;
  return storedDataset(s, tenant, ref, path);
}

/**
 * An uploaded dataset by id; a job naming one that is still processing is refused with 409
 * dataset_processing (submit again once it is ready), one that failed as not found.
 */
async function storedDataset(s: Store, tenant: string, id: string, path: string): Promise<DatasetMeta | null> {
  const meta = await getDatasetMeta(s, id, tenant);
  if (meta !== null) return meta;
  const upload = await getUpload(s, id, tenant);
  if (upload?.status === 'processing') {
    throw new ApiError('dataset_processing', `${path}: dataset ${id} is still processing; submit the job once GET /v1/datasets/${id} says "ready"`, { path });
  }
  return null;
}

/** A TrainConfig field path (CoreError.path) → the spec field it came from. */
export function specPathOf(corePath: string, spec: JobSpec): string {
  if (corePath.startsWith('layers')) return `model.${corePath}`;
  if (corePath === 'maxRuntimeSeconds') return 'stopping.maxRuntimeSeconds';
  if (corePath.startsWith('learningRate') && typeof spec.learningRate !== 'object') return 'learningRate';
  if (corePath === 'regularization.clipNorm') return 'clipNorm';
  return corePath;
}

/** The core's own refusal, if any: it knows what it cannot run better than any copy of its rules. */
function coreIssues(spec: JobSpec, data: DatasetInfo): Issue[] {
  try {
    validateConfig(toTrainConfig(resolveSpec(spec)), data.features, data.targetWidth, {
      rows: trainingRows(spec, data.rows),
      hasValidation: spec.validation !== null,
    });
    return [];
  } catch (err) {
    if (err instanceof CoreError) return [{ path: specPathOf(err.path, spec), message: err.message, in: 'body' }];
    throw err;
  }
}

export interface CheckedSpec {
  issues: Issue[];
  datasetId: string | null;
  /** Computed once the spec fits its dataset; null when it does not. */
  memoryEstimate: JobMemoryEstimate | null;
  /** The training dataset's input width, when it was found. */
  features: number | null;
}

export async function checkSubmittedSpec(s: Store, tenant: string, spec: JobSpec): Promise<CheckedSpec> {
  const issues: Issue[] = [];
  const data = await resolveDataset(s, tenant, spec.dataset);
  if (data === null) {
    issues.push({ path: 'dataset', message: `dataset ${typeof spec.dataset === 'string' ? spec.dataset : spec.dataset.builtin} not found`, in: 'body' });
  }
  let validation: DatasetInfo | null = null;
  if (spec.validation !== null && 'dataset' in spec.validation) {
    validation = await storedDataset(s, tenant, spec.validation.dataset, 'validation.dataset');
    if (validation === null) issues.push({ path: 'validation.dataset', message: `dataset ${spec.validation.dataset} not found`, in: 'body' });
  }
  if (data !== null && issues.length === 0) {
    issues.push(...checkSpecAgainstDataset(spec, data, validation).map(specIssue));
    issues.push(...checkSpecLimits(spec, data, s.config.limits).map(specIssue));
    if (issues.length === 0) issues.push(...coreIssues(spec, data));
    if (issues.length === 0 && spec.initFrom !== undefined) issues.push(...(await initFromIssues(s, tenant, spec, spec.initFrom, data.features)));
  }
  let memoryEstimate: JobMemoryEstimate | null = null;
  if (data !== null && issues.length === 0) {
    memoryEstimate = specMemoryEstimate(spec, data, validation);
    issues.push(...checkMemoryLimit(memoryEstimate, s.config.limits.jobMemoryBytes).map(specIssue));
  }
  return { issues, datasetId: typeof spec.dataset === 'string' ? spec.dataset : null, memoryEstimate, features: data?.features ?? null };
}
