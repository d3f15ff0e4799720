// Submission-time check of a sweep: refuse (with the path at fault) a sweep that can only produce
// specs that cannot run, accept one where some trials may be invalid (those are recorded as such).
// Bounded work: a few proposed trials in full, and up to PROBES_PER_AXIS values of each axis
// (PROBES_IN_ALL in all) through the schema only.
import type { Issue } from '../api/errors.js';
import type { DistributionSpec, SweepSpec } from '../spec/sweep-spec.js';
import type { Store } from '../store/redis.js';
import { proposeParams } from './space.js';
import { buildTrial, shapeTrial } from './trial.js';

/** Trials built in full (dataset checks included) before a sweep is accepted. */
const PROPOSALS_CHECKED = 8;
const PROBES_PER_AXIS = 64;
/** Schema checks of axis values in all, whatever the number of axes. */
const PROBES_IN_ALL = 512;

/** The values of an axis worth trying: every choice (evenly spread past the cap), or both bounds. */
function probeValues(d: DistributionSpec): unknown[] {
  if ('uniform' in d) return [...d.uniform];
  if ('loguniform' in d) return [...d.loguniform];
  if ('intuniform' in d) return [...d.intuniform];
  const all = 'choice' in d ? d.choice : d.grid;
  if (all.length <= PROBES_PER_AXIS) return all;
  return Array.from({ length: PROBES_PER_AXIS }, (_, i) => all[Math.floor((i * (all.length - 1)) / (PROBES_PER_AXIS - 1))]);
}

/** Issues that make the whole sweep refused; empty when at least some trials can run. */
export async function checkSweep(s: Store, tenant: string, sweep: SweepSpec, label: string): Promise<Issue[]> {
  const n = Math.min(sweep.maxTrials, PROPOSALS_CHECKED);
  let firstIssues: Issue[] | null = null;
  let anyValid = false;
  for (let k = 0; k < n && !anyValid; k++) {
    const t = await buildTrial(s, tenant, sweep, label, k);
    if (t.issues.length === 0) anyValid = true;
    else firstIssues ??= t.issues;
  }
  // An axis none of whose values works is refused even when other trials happen to be fine.
  const axisIssues: Issue[] = [];
  const params0 = proposeParams(sweep, 0);
  let budget = PROBES_IN_ALL;
  for (const [path, d] of Object.entries(sweep.space)) {
    let failing: Issue | null = null;
    let works = false;
    const values = probeValues(d);
    // Past the budget an axis is not judged on its own (the proposals above still are).
    if (values.length > budget) break;
    budget -= values.length;
    for (const v of values) {
      const shaped = shapeTrial(sweep, label, 0, { ...params0, [path]: v });
      const mine = shaped.issues.find((i) => i.path === `space.${path}`);
      if (mine === undefined) {
        works = true;
        break;
      }
      failing ??= mine;
    }
    if (!works && failing !== null) axisIssues.push({ ...failing, message: `no value of this axis gives a valid spec: ${failing.message}` });
  }
  if (axisIssues.length > 0) return axisIssues;
  if (!anyValid) return firstIssues ?? [];
  return [];
}
