// Everything a job needs before training starts, loaded and checked in the worker: the spec as
// the core's TrainConfig, the training rows and the validation rows. Anything wrong here is the
// job's fault, not the worker's: it becomes a JobInputError and the job fails without a retry.

import { copiesViews, decodeSafetensors, holdoutViews, splitHoldout, type InitialTensors } from '../src/core/index.js';
import type { Dataset, TrainConfig } from '../src/core/types.js';
import { builtinDataset, isBuiltinName } from '../src/data/index.js';
import type { DatasetMeta, LoadedDataset } from '../src/data/types.js';
import { StorageUnavailableError } from '../src/storage/storage-unavailable.js';
import { getDatasetMeta, loadDataset } from '../src/store/datasets.js';
import { takePreloaded } from './preload.js';
import { InitCheckpointError, readInitCheckpoint } from '../src/store/init-checkpoint.js';
import type { JobRecord } from '../src/store/jobs.js';
import type { Store } from '../src/store/redis.js';
import { checkpointMetadata, type DatasetSource } from '../src/spec/checkpoint-metadata.js';
import { checkSpecAgainstDataset, toTrainConfig } from '../src/spec/to-train-config.js';

export class JobInputError extends Error {
  override readonly name = 'JobInputError';
  constructor(
    public readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export interface JobInputs {
  config: TrainConfig;
  train: Dataset;
  validation: Dataset | null;
  meta: DatasetMeta;
  /** Written into every checkpoint: the resolved spec (with its seed), the inputs' scaling and the
   *  class names (spec/checkpoint-metadata.ts), so the file alone says how it was made. Nothing
   *  job-specific (like the id), so the same spec and data give the same bytes. */
  checkpointMetadata: Record<string, string>;
  /** Fine-tuning: the tensors of the checkpoint pinned at submission; null for a random init. */
  initial: InitialTensors | null;
}

interface Loaded {
  dataset: Dataset;
  meta: DatasetMeta;
  source: DatasetSource;
}

export async function loadJobInputs(store: Store, record: JobRecord): Promise<JobInputs> {
  const spec = record.spec;
  const main = await loadRef(store, spec.dataset, record.tenant, 'dataset');
  let train = main.dataset;
  let validation: Dataset | null = null;
  let validationMeta: DatasetMeta | null = null;
  if (spec.validation !== null && 'dataset' in spec.validation) {
    const v = await loadRef(store, spec.validation.dataset, record.tenant, 'validation.dataset');
    validation = v.dataset;
    validationMeta = v.meta;
  }
  const issues = checkSpecAgainstDataset(spec, main.meta, validationMeta);
  if (issues.length > 0) {
    const described = issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new JobInputError(issues[0]?.path.join('.') ?? 'spec', described.join('; '));
  }
  let config: TrainConfig;
  try {
    config = toTrainConfig(spec);
  } catch (err) {
    throw new JobInputError('spec', (err as Error).message);
  }
  if (spec.validation !== null && 'fraction' in spec.validation) {
    try {
      // The rows were loaded for this job alone: split them without holding them twice, as views of
      // the loaded arrays (nothing moves: a 60,000-row split took 90 ms of a warm start moving rows)
      // unless the run would copy a view's rows (standardized, regression), then in place.
      ({ train, validation } = copiesViews(config)
        ? splitHoldout(main.dataset, spec.validation.fraction, config.seed, true)
        : holdoutViews(main.dataset, spec.validation.fraction, config.seed));
    } catch (err) {
      throw new JobInputError('validation.fraction', (err as Error).message);
    }
  }
  const initial = spec.initFrom === undefined ? null : await loadInitial(store, record.id, spec.initFrom.sha256);
  return { config, train, validation, meta: main.meta, checkpointMetadata: checkpointMetadata(spec, main.source), initial };
}

/** The pinned starting checkpoint's tensors (its copy in this job's directory, sha256-checked). */
async function loadInitial(store: Store, jobId: string, sha256: string | undefined): Promise<InitialTensors> {
  if (sha256 === undefined) throw new JobInputError('initFrom', 'the spec names no sha256 for its starting checkpoint (it was not resolved at submission)');
  try {
    return decodeSafetensors(await readInitCheckpoint(store, jobId, sha256)).tensors;
  } catch (err) {
    if (err instanceof InitCheckpointError || (err as Error).name === 'SafetensorsError') throw new JobInputError('initFrom', (err as Error).message);
    throw err;
  }
}

async function loadRef(store: Store, ref: string | { builtin: string }, tenant: string, path: string): Promise<Loaded> {
  if (typeof ref !== 'string') {
    if (!isBuiltinName(ref.builtin)) throw new JobInputError(`${path}.builtin`, `unknown built-in dataset "${ref.builtin}"`);
    const { dataset, meta, classNames } = builtinDataset(ref.builtin);
    return { dataset, meta, source: { format: 'builtin', classNames: classNames ?? null } };
  }
  const stored = await getDatasetMeta(store, ref, tenant);
  if (stored === null) throw new JobInputError(path, `dataset ${ref} does not exist (deleted or expired)`);
  let loaded: LoadedDataset;
  try {
    // A spare trainer may have loaded it already (workers/preload.ts).
    loaded = (await takePreloaded(ref)) ?? (await loadDataset(store, ref));
  } catch (err) {
    // An unavailable store is not the job's fault: the attempt fails and is retried.
    if (err instanceof StorageUnavailableError) throw err;
    throw new JobInputError(path, `dataset ${ref} cannot be read: ${(err as Error).message}`);
  }
  const { dataset, meta } = loaded;
  if (dataset.n !== stored.rows || dataset.features !== stored.features) {
    throw new JobInputError(path, `dataset ${ref} on disk does not match its metadata (${dataset.n}×${dataset.features})`);
  }
  return { dataset, meta, source: { format: stored.format, classNames: loaded.classNames ?? null } };
}
