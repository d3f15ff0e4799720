// Request and response schemas of the HTTP API (zod): they validate requests, shape responses and
// become the OpenAPI document's components. The job spec itself is src/spec/job-spec.ts.
import { z } from 'zod';
import { DATASET_ID_PATTERN, JOB_ID_PATTERN, SWEEP_ID_PATTERN } from '../store/ids.js';
import { JOB_STATUSES } from '../store/jobs.js';
import { isStreamId, STREAM_ID_PATTERN } from '../store/stream.js';

export const JobIdParams = z.object({ id: z.string().regex(JOB_ID_PATTERN, 'a job id (job_ followed by 26 characters)') });
export const DatasetIdParams = z.object({ id: z.string().regex(DATASET_ID_PATTERN, 'a dataset id (ds_ followed by 26 characters)') });
// Digits only, no sign, leading zero, exponent, hex or blank: "6.0", "6e0", "0x6", " 6" and "" are not epochs.
export const EpochParams = JobIdParams.extend({
  epoch: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,9})$/, 'an epoch number: decimal digits without sign, leading zeros or spaces')
    .transform(Number)
    .pipe(z.number().int().max(1e9)),
});

export const CHECKPOINT_FORMATS = ['safetensors', 'onnx'] as const;
export type CheckpointFormat = (typeof CHECKPOINT_FORMATS)[number];
export const CheckpointDownloadQuery = z.object({
  format: z
    .enum(CHECKPOINT_FORMATS)
    .default('safetensors')
    .describe(
      'safetensors (the stored file) or onnx: the inference path as an ONNX model (opset 13; input "input" [batch, features]; ' +
        'outputs "probabilities", "logits" and "label" for classifiers, "value" for regressors; metadata_props carry the spec, epoch and metrics)',
    ),
});

const limit = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def);

export const JobListQuery = z.object({
  status: z.enum(JOB_STATUSES).optional(),
  sweep: z.string().regex(SWEEP_ID_PATTERN, 'a sweep id (sw_ followed by 26 characters)').optional().describe("Only this sweep's trials"),
  limit: limit(20, 100),
  cursor: z.string().regex(JOB_ID_PATTERN, 'a cursor from a previous page').optional(),
});

export const DatasetListQuery = z.object({
  limit: limit(20, 100),
  cursor: z.string().regex(DATASET_ID_PATTERN, 'a cursor from a previous page').optional(),
});

export const StreamCursor = z
  .string()
  .regex(STREAM_ID_PATTERN, 'a cursor from a previous page (a stream id like 1700000000000-0)')
  .refine(isStreamId, 'a stream id whose parts are at most 2^64 - 1, as Redis allows');

export const MetricsQuery = z.object({
  after: StreamCursor.optional(),
  limit: limit(100, 1000),
});

export const EventsQuery = z.object({ after: StreamCursor.optional() });

export const DatasetUploadQuery = z.object({
  /** CSV: the label column(s), comma-separated. Default: a column named "label", else the last. */
  label: z.string().min(1).max(1000).optional(),
  name: z.string().min(1).max(200).optional(),
  /** Override task inference (integer labels that are really a regression target). */
  task: z.enum(['classification', 'regression']).optional(),
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(600)
    .default(60)
    .describe('Seconds to wait for the conversion: 201 ready (or the parser\'s 400) when it ends in time, else 202 processing with Location (poll GET /v1/datasets/:id). 0: answer 202 once the body is stored'),
});

export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, '1–255 visible ASCII characters')
    .optional(),
});

export const MetricsRecordSchema = z
  .object({
    epoch: z.number(),
    step: z.number(),
    loss: z.number(),
    lr: z.number(),
    seconds: z.number(),
    samplesPerSec: z.number(),
    attempt: z.number(),
    accuracy: z.number().optional(),
    val_loss: z.number().optional(),
    val_accuracy: z.number().optional(),
    mae: z.number().optional(),
    rmse: z.number().optional(),
    r2: z.number().optional(),
    val_mae: z.number().optional(),
    val_rmse: z.number().optional(),
    val_r2: z.number().optional(),
  })
  .meta({ id: 'MetricsRecord' });

/** The data of the SSE `progress` event: where a running epoch stands (ephemeral, never a metrics record). */
export const ProgressEventSchema = z
  .object({
    epoch: z.number().int().describe('the epoch being trained (1-based)'),
    step: z.number().int().describe('mini-batches done in this epoch'),
    stepsPerEpoch: z.number().int().describe('mini-batches in an epoch'),
    loss: z.number().nullable().describe('mean training loss of this epoch so far (null if not finite)'),
    samplesPerSec: z.number().describe('training rows per second in this epoch so far'),
    eta: z.number().describe("seconds left in this epoch's training pass at that rate (validation not included)"),
  })
  .meta({ id: 'ProgressEvent' });

export const HistoryEntrySchema = z
  .object({ status: z.enum(JOB_STATUSES), at: z.string(), reason: z.string().optional(), attempt: z.number() })
  .meta({ id: 'HistoryEntry' });

const bytes = (what: string) => z.number().describe(what);

/** Mirrors JobMemoryParts (src/spec/memory-estimate.ts, src/core/memory.ts); a test checks they list the same parts. */
export const MemoryEstimateSchema = z
  .object({
    bytes: z.number().describe('Estimated peak bytes of training this job: the sum of the parts. Submission refuses more than MAX_JOB_MEMORY_BYTES.'),
    parts: z.object({
      parameters: bytes('weights and biases (float32)'),
      gradients: bytes('one gradient per parameter'),
      optimizerState: bytes("the optimizer's moments: sgd with momentum 1 per parameter, adagrad 1, rmsprop 1–3, adam 2 (3 with amsgrad)"),
      activations: bytes('forward buffers at the batch size (pre-activations, outputs, the gathered batch, predictions), sized for max(batch, 256-row validation chunk)'),
      activationGradients: bytes('backward buffers at the batch size'),
      dropoutMasks: bytes('one float per unit per row for each dropout layer'),
      dataset: bytes('training and validation rows as float32 features and targets (features twice with normalize)'),
      rowIndex: bytes("the epoch's row order"),
      datasetLoading: bytes('the held-out rows copied beside the loaded rows while the worker splits off a validation fraction (0 without one; counted on top of the training buffers)'),
      weightCopies: bytes('weights of the last good epoch, and of the best one when early stopping restores it'),
      serialization: bytes('resume state and checkpoint files in memory'),
      other: bytes('metrics sums, normalization statistics, kernel scratch'),
    }),
  })
  .meta({ id: 'MemoryEstimate' });

const jobCommon = {
  id: z.string(),
  name: z.string().nullable(),
  dataset: z
    .union([z.string(), z.object({ builtin: z.string() })])
    .describe('What it trains on, as its spec says: an uploaded dataset id (ds_…) or {"builtin": name}'),
  monitor: z.string().describe('The metric `best` and the kept checkpoints are ranked by (checkpoints.monitor, else earlyStopping.monitor, else val_loss with validation data, else loss)'),
  status: z.enum(JOB_STATUSES),
  reason: z.string().nullable(),
  progress: z.object({ epoch: z.number(), epochs: z.number() }),
  latest: MetricsRecordSchema.nullable(),
  best: MetricsRecordSchema.nullable(),
  attempt: z.number(),
  priority: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  backend: z.string().nullable(),
  threads: z.number().int().nullable().meta({ description: 'Threads the job trains on (TRAIN_THREADS, or the cores its worker\'s other jobs leave); null until it runs' }),
  /** Null only for jobs submitted before estimates existed. */
  memoryEstimate: MemoryEstimateSchema.nullable(),
  sweep: z.string().nullable().describe('The sweep this job is a trial of (sw_…), else null'),
  trial: z.number().int().nullable().describe("The trial's number in its sweep"),
  params: z.record(z.string(), z.unknown()).nullable().describe("A trial's sampled parameters (space path → value)"),
};

export const JobSummarySchema = z.object(jobCommon).meta({ id: 'JobSummary' });

export const JobSchema = z
  .object({
    ...jobCommon,
    /** The stored spec, defaults resolved (seed, learning rate and priority always present). */
    spec: z.record(z.string(), z.unknown()),
    history: z.array(HistoryEntrySchema),
    /** 0-based place among waiting jobs while queued, else null. */
    queuePosition: z.number().nullable(),
    initFrom: z
      .object({ job: z.string(), epoch: z.number(), sha256: z.string() })
      .nullable()
      .describe('Fine-tuning: the parent job, the epoch of the checkpoint the job started from, and its sha256 (a copy pinned at submission); null for a random init.'),
  })
  .meta({ id: 'Job' });

export const JobListSchema = z.object({ items: z.array(JobSummarySchema), nextCursor: z.string().nullable() }).meta({ id: 'JobList' });

export const MetricsPageSchema = z
  .object({
    items: z.array(MetricsRecordSchema),
    /** Pass as `after` to get the records after these; null only when nothing was recorded yet. */
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'MetricsPage' });

export const DatasetSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    format: z.string(),
    status: z
      .enum(['processing', 'ready', 'failed'])
      .describe('processing: the upload is stored and being converted; ready: usable by jobs; failed: refused, see error. Only ready datasets are listed'),
    error: z
      .object({ path: z.string(), message: z.string() })
      .nullable()
      .describe("A failed upload's parser error, naming the line and column (e.g. path line.3.y)"),
    rows: z.number().nullable().describe('Null until ready'),
    features: z.number().nullable(),
    classes: z.number().nullable(),
    task: z.enum(['classification', 'regression']).nullable(),
    targetWidth: z.number().nullable(),
    size: z.number().nullable().describe('Bytes stored, counted against MAX_TENANT_BYTES'),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable().describe('When a job was last submitted on it'),
    expiresAt: z
      .string()
      .nullable()
      .describe('With DATASET_RETENTION_SECONDS: from then on the next sweep deletes it, unless a queued or running job uses it. Null: kept until deleted'),
  })
  .meta({ id: 'Dataset' });

export const DatasetListSchema = z.object({ items: z.array(DatasetSchema), nextCursor: z.string().nullable() }).meta({ id: 'DatasetList' });

export const CheckpointSchema = z
  .object({
    epoch: z.number(),
    step: z.number(),
    monitor: z.string(),
    value: z.number().nullable(),
    size: z.number(),
    sha256: z.string(),
    createdAt: z.string(),
    best: z.boolean(),
  })
  .meta({ id: 'Checkpoint' });

export const CheckpointListSchema = z.object({ items: z.array(CheckpointSchema) }).meta({ id: 'CheckpointList' });

export const PredictBodySchema = z
  .strictObject({ inputs: z.array(z.array(z.number().min(-1e30).max(1e30))).min(1) })
  .meta({ id: 'PredictRequest' });

export const PredictResponseSchema = z
  .object({
    outputs: z.array(
      z.union([z.object({ probabilities: z.array(z.number()), label: z.number() }), z.object({ value: z.array(z.number()) })]),
    ),
    /** The checkpoint used: its epoch and sha256. */
    checkpoint: z.object({ epoch: z.number(), sha256: z.string() }),
  })
  .meta({ id: 'PredictResponse' });

const count = z.number().int().min(0);

export const UsageSchema = z
  .object({
    tenant: z.string(),
    bytes: z
      .object({
        datasets: count,
        checkpoints: count,
        total: count,
        limit: count.describe('MAX_TENANT_BYTES: uploads and checkpoints beyond it are refused (403 quota_exceeded)'),
      })
      .describe('Stored bytes: dataset files and kept checkpoints (resume states, deleted when a job ends, are not counted)'),
    datasets: count.describe('Uploaded datasets'),
    jobs: z.object(Object.fromEntries(JOB_STATUSES.map((s) => [s, count])) as Record<(typeof JOB_STATUSES)[number], typeof count>).describe('Jobs by status (an expired job leaves these counts at the next sweep)'),
    trainingSeconds: z.number().min(0).describe('Seconds of recorded training epochs, all jobs ever'),
  })
  .meta({ id: 'Usage' });
