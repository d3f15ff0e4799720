// Request and response schemas of evaluations (POST /v1/jobs/:id/evaluate, GET /v1/evaluations/:id).
import { z } from 'zod';
import { DatasetRef } from '../spec/job-spec.js';
import { EVALUATION_ID_PATTERN } from '../store/ids.js';
import { EVALUATION_STATUSES } from '../store/evaluations.js';

export const EvaluationIdParams = z.object({ id: z.string().regex(EVALUATION_ID_PATTERN, 'an evaluation id (ev_ followed by 26 characters)') });

export const EvaluateBodySchema = z
  .strictObject({
    dataset: DatasetRef.describe('An uploaded dataset id (ds_…) or {"builtin": name}: rows with the model\'s input width and targets it can be scored on.'),
    checkpoint: z
      .union([z.literal('best'), z.number().int().min(1).max(1e9)])
      .default('best')
      .describe('"best" (the default) or the epoch of a kept checkpoint.'),
  })
  .meta({ id: 'EvaluateRequest' });

export const EvaluateQuery = z.object({
  wait: z.coerce
    .number()
    .min(0)
    .max(60)
    .default(0)
    .describe('Seconds to wait for the result: 200 when it finished within them, else 202 (then poll GET /v1/evaluations/{id}).'),
});

const averages = z.object({ precision: z.number(), recall: z.number(), f1: z.number() });

export const EvaluationResultSchema = z
  .object({
    task: z.enum(['classification', 'regression']),
    rows: z.number().describe('Rows scored'),
    loss: z.number().describe("Mean loss plus the L1/L2 penalty, as training's loss and val_loss"),
    accuracy: z.number().optional().describe('Classifiers (binary cross-entropy: per output, thresholded at 0.5, as Keras)'),
    classes: z
      .array(z.object({ precision: z.number(), recall: z.number(), f1: z.number(), support: z.number() }))
      .optional()
      .describe('Classifiers: by class index (multi-label binary cross-entropy: by output, for its positive label). Precision or recall of a class never predicted or never present is 0'),
    macro: averages.optional().describe('Unweighted mean over classes'),
    weighted: averages.optional().describe('Mean over classes weighted by support'),
    confusionMatrix: z
      .array(z.array(z.number()))
      .nullable()
      .optional()
      .describe('Classifiers: counts by [true class][predicted class] (one sigmoid output: classes 0 and 1 at 0.5); null for multi-label outputs'),
    mae: z.number().optional(),
    rmse: z.number().optional(),
    r2: z.number().optional().describe('Averaged over output columns'),
  })
  .meta({ id: 'EvaluationResult' });

export const EvaluationSchema = z
  .object({
    id: z.string(),
    jobId: z.string(),
    dataset: z.union([z.string(), z.object({ builtin: z.string() })]),
    checkpoint: z.object({ epoch: z.number(), sha256: z.string() }).describe('The checkpoint scored ("best" resolved when the evaluation was requested)'),
    status: z.enum(EVALUATION_STATUSES),
    error: z.string().nullable().describe('Why a failed evaluation failed'),
    result: EvaluationResultSchema.nullable().describe('Set once completed'),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    expiresAt: z.string().describe('The evaluation is gone (404) after this: EVALUATION_TTL_SECONDS from its last change'),
  })
  .meta({ id: 'Evaluation' });
