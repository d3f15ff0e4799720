// A job spec and its dataset's metadata → the job's memory estimate: the core's, plus what the
// worker holds while it loads the rows; and the MAX_JOB_MEMORY_BYTES check at submission, which
// names the spec field that drives the estimate most.
import { memoryEstimate, type MemoryParts } from '../core/index.js';
import type { JobSpec, SpecIssue } from './job-spec.js';
import { parameterCount, toTrainConfig, trainingRows, type DatasetInfo } from './to-train-config.js';

export interface JobMemoryParts extends MemoryParts {
  /** The held-out rows' copy beside the loaded rows while the worker splits off a validation
   *  fraction (the file is decoded in place and the training rows are moved within it, so nothing
   *  else is copied); 0 without a fraction. Counted on top of the training buffers. */
  datasetLoading: number;
}

export interface JobMemoryEstimate {
  bytes: number;
  parts: JobMemoryParts;
}

/** Peak bytes of training `spec` on `data` (split by its validation fraction, or with the separate `validation` set). */
export function specMemoryEstimate(spec: JobSpec, data: DatasetInfo, validation: DatasetInfo | null): JobMemoryEstimate {
  const trainRows = trainingRows(spec, data.rows);
  let validationRows = 0;
  if (spec.validation !== null) validationRows = 'fraction' in spec.validation ? data.rows - trainRows : (validation?.rows ?? 0);
  const featureBytes = data.featureBytes ?? 4;
  const core = memoryEstimate(toTrainConfig(spec), { trainRows, validationRows, features: data.features, targetWidth: data.targetWidth, featureBytes });
  const heldOut = spec.validation !== null && 'fraction' in spec.validation ? validationRows : 0;
  const datasetLoading = heldOut * (featureBytes * data.features + 4 * data.targetWidth);
  // Fine-tuning: the pinned starting checkpoint's bytes and its decoded tensors, held for the run.
  const starting = spec.initFrom === undefined ? 0 : 2 * 4 * (parameterCount(spec, data.features) + (spec.normalize === 'standard' ? 2 * data.features : 0));
  const parts = { ...core.parts, serialization: core.parts.serialization + starting, datasetLoading };
  return { bytes: core.bytes + starting + datasetLoading, parts };
}

type Driver = 'batchSize' | 'model.layers' | 'dataset';

/** Which spec field scales each part: shrinking that field shrinks the part. */
const DRIVER_OF: Record<keyof JobMemoryParts, Driver> = {
  activations: 'batchSize',
  activationGradients: 'batchSize',
  dropoutMasks: 'batchSize',
  parameters: 'model.layers',
  gradients: 'model.layers',
  optimizerState: 'model.layers',
  weightCopies: 'model.layers',
  serialization: 'model.layers',
  other: 'model.layers',
  dataset: 'dataset',
  rowIndex: 'dataset',
  datasetLoading: 'dataset',
};

const DRIVER_TEXT: Record<Driver, string> = {
  batchSize: 'activations and gradients at the batch size; a smaller batchSize (or narrower layers) lowers it',
  'model.layers': 'parameters, their gradients, optimizer state and serialized copies; a smaller model lowers it',
  dataset: 'the dataset held in memory; fewer rows or features lower it',
};

/** The field whose parts add up to the most bytes, and those bytes. */
export function memoryDriver(parts: JobMemoryParts): { path: Driver; bytes: number } {
  const sums: Record<Driver, number> = { batchSize: 0, 'model.layers': 0, dataset: 0 };
  for (const [part, bytes] of Object.entries(parts) as [keyof JobMemoryParts, number][]) sums[DRIVER_OF[part]] += bytes;
  const path = (Object.keys(sums) as Driver[]).reduce((a, b) => (sums[b] > sums[a] ? b : a));
  return { path, bytes: sums[path] };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** One issue, at the driving field, when the estimate is over MAX_JOB_MEMORY_BYTES. */
export function checkMemoryLimit(estimate: JobMemoryEstimate, limit: number): SpecIssue[] {
  if (estimate.bytes <= limit) return [];
  const driver = memoryDriver(estimate.parts);
  return [
    {
      path: driver.path.split('.'),
      message:
        `the job needs an estimated ${estimate.bytes} bytes (${gib(estimate.bytes)}) of memory, over MAX_JOB_MEMORY_BYTES = ${limit} (${gib(limit)}); ` +
        `${driver.bytes} bytes of it are ${DRIVER_TEXT[driver.path]}`,
    },
  ];
}
