// The storage keys of the service's objects. Ids are checked first, so no key can name anything
// outside its job's or dataset's place.
import { isDatasetId, isJobId } from './ids.js';

export class StorePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorePathError';
  }
}

function checkEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new StorePathError(`invalid epoch ${String(epoch)}`);
}

/** Every object of a job starts with this. */
export function jobPrefix(jobId: string): string {
  if (!isJobId(jobId)) throw new StorePathError('invalid job id');
  return `jobs/${jobId}/`;
}

export function checkpointKey(jobId: string, epoch: number): string {
  checkEpoch(epoch);
  return `${jobPrefix(jobId)}epoch-${epoch}.safetensors`;
}

export function resumeStateKey(jobId: string): string {
  return `${jobPrefix(jobId)}resume.safetensors`;
}

/** A fine-tuned job's starting checkpoint, pinned at submission. */
export function initCheckpointKey(jobId: string): string {
  return `${jobPrefix(jobId)}init.safetensors`;
}

export const DATASETS_PREFIX = 'datasets/';
export const JOBS_PREFIX = 'jobs/';

export function datasetKey(datasetId: string): string {
  if (!isDatasetId(datasetId)) throw new StorePathError('invalid dataset id');
  return `${DATASETS_PREFIX}${datasetId}.bin`;
}

/** Raw upload bodies while they are converted: `uploads/<datasetId>/<part>`. */
export const UPLOADS_PREFIX = 'uploads/';

export function uploadPrefix(datasetId: string): string {
  if (!isDatasetId(datasetId)) throw new StorePathError('invalid dataset id');
  return `${UPLOADS_PREFIX}${datasetId}/`;
}

/**
 * One raw body of an upload: `body` (a plain request), or a multipart field (`file`, `images`,
 * `labels`); or `targets`, the conversion's scratch.
 */
export function uploadKey(datasetId: string, part: 'body' | 'file' | 'images' | 'labels' | 'targets'): string {
  return `${uploadPrefix(datasetId)}${part}`;
}

export { checkEpoch };
