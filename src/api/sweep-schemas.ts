// Request and response schemas of /v1/sweeps (zod → validation and the OpenAPI components). The
// sweep request itself is src/spec/sweep-spec.ts.
import { z } from 'zod';
import { SWEEP_ID_PATTERN } from '../store/ids.js';
import { SWEEP_STATUSES } from '../store/sweeps.js';
import { TRIAL_STATES } from '../sweep/leaderboard.js';

export const SweepIdParams = z.object({ id: z.string().regex(SWEEP_ID_PATTERN, 'a sweep id (sw_ followed by 26 characters)') });

export const SweepListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(SWEEP_ID_PATTERN, 'a cursor from a previous page').optional(),
});

const params = z.record(z.string(), z.unknown()).describe('The sampled value of each space path.');

export const TrialRowSchema = z
  .object({
    trial: z.number().int().describe('0-based proposal number: the same seed proposes the same trial k'),
    jobId: z.string().nullable().describe('The trial\'s job (GET /v1/jobs/{id}); null for an invalid trial'),
    state: z.enum(TRIAL_STATES).describe('pruned: stopped early by ASHA (its job is completed, reason pruned); invalid: its sampled spec could not run'),
    reason: z.string().nullable(),
    error: z.string().nullable(),
    params,
    objective: z.number().nullable().describe('The best objective value it reported'),
    objectiveEpoch: z.number().nullable(),
    epochs: z.number().int().describe('Epochs it trained'),
  })
  .meta({ id: 'SweepTrial' });

const counts = z.object(Object.fromEntries([...TRIAL_STATES, 'pending'].map((s) => [s, z.number().int().min(0)])) as Record<(typeof TRIAL_STATES)[number] | 'pending', z.ZodNumber>);

const BestTrialSchema = z.object({
  trial: z.number().int(),
  jobId: z.string().nullable(),
  objective: z.number().nullable(),
  objectiveEpoch: z.number().nullable(),
  params,
  checkpoint: z.string().nullable().describe('Where its best checkpoint downloads from (ranked by the objective unless the base spec ranks by another metric)'),
});

export const DecisionSchema = z
  .object({
    seq: z.number().int().describe('1, 2, …: the order decisions were made in'),
    trial: z.number().int(),
    jobId: z.string(),
    rung: z.number().int().describe('The epoch of the rung'),
    value: z.number().nullable(),
    cutoff: z.number().nullable().describe('The objective a trial needed to continue, from the trials already at this rung (null when it was the first)'),
    among: z.number().int().describe('Trials recorded at this rung before it'),
    decision: z.enum(['continue', 'prune']),
    at: z.string(),
  })
  .meta({ id: 'SweepDecision' });

const sweepCommon = {
  id: z.string(),
  name: z.string().nullable(),
  status: z.enum(SWEEP_STATUSES).describe('cancelling: no new trials, running ones are being stopped'),
  reason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  counts: counts.describe('Trials by state; pending = not launched yet'),
  best: BestTrialSchema.nullable(),
  totalEpochs: z.number().int().describe('Epochs trained by all trials together'),
};

export const SweepSummarySchema = z.object(sweepCommon).meta({ id: 'SweepSummary' });

export const SweepSchema = z
  .object({
    ...sweepCommon,
    spec: z.record(z.string(), z.unknown()).describe('The sweep request, with seed and maxTrials resolved'),
    leaderboard: z.array(TrialRowSchema).describe('Every launched trial, best objective first'),
    decisions: z.array(DecisionSchema).describe('ASHA decisions in the order they were made'),
  })
  .meta({ id: 'Sweep' });

export const SweepListSchema = z.object({ items: z.array(SweepSummarySchema), nextCursor: z.string().nullable() }).meta({ id: 'SweepList' });

/** The sweep's events (GET /v1/sweeps/{id}/events, `x-events` in the document). */
export const TrialStartedEventSchema = z
  .object({ trial: z.number().int(), jobId: z.string(), params })
  .describe('A trial was launched: its job is created and queued')
  .meta({ id: 'TrialStartedEvent' });

export const TrialReportedEventSchema = z
  .object({ trial: z.number().int(), jobId: z.string(), epoch: z.number().int(), value: z.number().nullable().describe("The objective's value this epoch (null when not a number)") })
  .describe('A trial recorded an epoch')
  .meta({ id: 'TrialReportedEvent' });

export const TrialFinishedEventSchema = z
  .object({
    trial: z.number().int(),
    jobId: z.string().nullable(),
    outcome: z.enum(['completed', 'pruned', 'failed', 'cancelled', 'invalid']),
    status: z.string().describe("The job's terminal status ('invalid' for a trial without a job)"),
    reason: z.string().nullable(),
    error: z.string().optional(),
    params: params.optional().describe('Given for an invalid trial'),
  })
  .describe('A trial ended (or its sampled spec could not run)')
  .meta({ id: 'TrialFinishedEvent' });

export const SweepFinishedEventSchema = z
  .object({ status: z.enum(['completed', 'cancelled']), at: z.string() })
  .describe('The sweep ended; the stream ends after it')
  .meta({ id: 'SweepFinishedEvent' });
