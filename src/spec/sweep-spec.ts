// The sweep request: a base job spec, a search space over its fields, how trials are proposed
// (random or grid), how many run at once, the objective, and early termination (ASHA or none).
// One zod schema gives the type, the API's validation and the OpenAPI component; every number
// has a range. Whether the space can produce runnable specs is checked in src/sweep/check.ts.
import { z } from 'zod';
import { METRIC_NAMES } from './job-spec.js';

/** Sweep ids: `sw_` + a ULID, like job ids. */
export const SWEEP_ID = /^sw_[0-9A-HJKMNP-TV-Z]{26}$/;

/** The largest maxTrials the schema accepts; MAX_SWEEP_TRIALS may lower it. */
export const SWEEP_TRIALS_CEILING = 10_000;
/** Axes of one space. */
export const MAX_SPACE_AXES = 32;
/** Values of one choice or grid axis. */
export const MAX_AXIS_VALUES = 1000;

/** A dotted path into the job spec: field names, and numeric indices into lists (model.layers.0.units). */
export const SPACE_PATH = /^[A-Za-z][A-Za-z0-9]{0,63}(\.([A-Za-z][A-Za-z0-9]{0,63}|[0-9]{1,3})){0,15}$/;

const finite = z.number().min(-1e12).max(1e12);
const positive = z.number().positive().max(1e12);
const integer = z.number().int().min(-1e9).max(1e9);
const values = z.array(z.unknown()).min(1).max(MAX_AXIS_VALUES);

function ordered<T extends [number, number]>(pair: z.ZodType<T>) {
  return pair.refine(([lo, hi]) => lo <= hi, { message: 'the low bound must not exceed the high bound', path: [1] });
}

export const Distribution = z
  .union([
    z.strictObject({ choice: values.describe('Sampled uniformly; any JSON values (numbers, strings, objects such as a layer).') }),
    z.strictObject({ grid: values.describe('With method "grid": every value, crossed with the other grid axes. With "random": like choice.') }),
    z.strictObject({ uniform: ordered(z.tuple([finite, finite])).describe('[low, high]: uniform real.') }),
    z.strictObject({ loguniform: ordered(z.tuple([positive, positive])).describe('[low, high], both > 0: uniform in log space.') }),
    z.strictObject({ intuniform: ordered(z.tuple([integer, integer])).describe('[low, high]: a uniform integer, both ends included.') }),
  ])
  .meta({ id: 'SweepDistribution' });

export type DistributionSpec = z.output<typeof Distribution>;

const Objective = z.strictObject({
  metric: z.enum(METRIC_NAMES).describe('A metrics record field, e.g. val_loss or val_accuracy.'),
  mode: z.enum(['min', 'max']),
});

const EarlyTermination = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('asha'),
      gracePeriod: z.number().int().min(1).max(100_000).default(1).describe('The first rung, in epochs.'),
      reductionFactor: z.number().gt(1).max(100).default(3).describe('Rungs at gracePeriod·reductionFactor^k epochs; the top 1/reductionFactor continue past each.'),
    }),
    z.strictObject({ type: z.literal('none') }),
  ])
  .meta({ discriminator: { propertyName: 'type' } });

export const SweepSpecSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional().describe('A label for people; not unique.'),
    base: z
      .record(z.string(), z.unknown())
      .describe('A job spec (see JobSpec); each trial is this spec with the space\'s paths set to sampled values.'),
    space: z
      .record(z.string().regex(SPACE_PATH, 'a dotted path into the job spec, e.g. learningRate or model.layers.0.units'), Distribution)
      .refine((s) => Object.keys(s).length >= 1 && Object.keys(s).length <= MAX_SPACE_AXES, { message: `1 to ${MAX_SPACE_AXES} paths` })
      .describe('Path → distribution: choice, grid, uniform, loguniform or intuniform.'),
    method: z.enum(['random', 'grid']).default('random').describe('"grid" crosses the grid axes (repeating the grid when maxTrials is larger); other axes are sampled.'),
    maxTrials: z
      .number()
      .int()
      .min(1)
      .max(SWEEP_TRIALS_CEILING)
      .optional()
      .describe('Trials to run (at most MAX_SWEEP_TRIALS). Default: the grid size with "grid", else 10.'),
    parallelism: z.number().int().min(1).max(1000).default(4).describe('Trials queued or running at once.'),
    objective: Objective,
    earlyTermination: EarlyTermination.default({ type: 'none' }).describe('"asha" stops trials early (they end completed, reason pruned); "none" runs each to its end.'),
    seed: z.number().int().min(0).max(2 ** 32 - 1).optional().describe('Seeds the proposals (and trial seeds when the base has none). Absent: random, stored.'),
  })
  .superRefine((s, ctx) => {
    if (s.method === 'grid' && !Object.values(s.space).some((d) => 'grid' in d)) {
      ctx.addIssue({ code: 'custom', path: ['method'], message: 'method "grid" needs at least one grid axis in space' });
    }
    if (s.method === 'grid' && gridSize(s.space) > SWEEP_TRIALS_CEILING) {
      ctx.addIssue({ code: 'custom', path: ['space'], message: `the grid has more than ${SWEEP_TRIALS_CEILING} points` });
    }
  })
  .meta({ id: 'SweepSpec' });

export type SweepSpecInput = z.input<typeof SweepSpecSchema>;
export type SweepSpecParsed = z.output<typeof SweepSpecSchema>;

/** A sweep spec as stored: seed and maxTrials resolved. */
export type SweepSpec = SweepSpecParsed & { seed: number; maxTrials: number };

/** Number of grid points (1 without grid axes); stops counting past the ceiling. */
export function gridSize(space: Record<string, DistributionSpec>): number {
  let n = 1;
  for (const d of Object.values(space)) {
    if ('grid' in d) n *= d.grid.length;
    if (n > SWEEP_TRIALS_CEILING) return SWEEP_TRIALS_CEILING + 1;
  }
  return n;
}

/** Default maxTrials and seed filled in. */
export function resolveSweepSpec(s: SweepSpecParsed, randomSeed: () => number): SweepSpec {
  const maxTrials = s.maxTrials ?? (s.method === 'grid' ? gridSize(s.space) : 10);
  return { ...s, maxTrials, seed: s.seed ?? randomSeed() };
}
