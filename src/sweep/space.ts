// Trial proposals: trial k's parameters are a pure function of the sweep spec and k (random axes
// from the trial's own generator, grid axes from k's place in the grid), and its job spec is the
// base with those paths set. Nothing here does I/O.
import type { DistributionSpec, SweepSpec } from '../spec/sweep-spec.js';
import { trialRandom, type SweepRandom } from './random.js';

export type TrialParams = Record<string, unknown>;

function sample(d: DistributionSpec, r: SweepRandom): unknown {
  if ('choice' in d) return structuredClone(d.choice[r.below(d.choice.length)]);
  if ('grid' in d) return structuredClone(d.grid[r.below(d.grid.length)]);
  if ('uniform' in d) return d.uniform[0] + (d.uniform[1] - d.uniform[0]) * r.next();
  if ('loguniform' in d) {
    const [lo, hi] = d.loguniform.map(Math.log) as [number, number];
    // Clamped: exp(log(hi)) can exceed hi by an ulp.
    return Math.min(d.loguniform[1], Math.max(d.loguniform[0], Math.exp(lo + (hi - lo) * r.next())));
  }
  return d.intuniform[0] + r.below(d.intuniform[1] - d.intuniform[0] + 1);
}

/**
 * Trial k's parameters, in the space's key order. With method "grid" the grid axes walk the grid
 * (the first axis slowest, like nested loops) and repeat it when k passes its size.
 */
export function proposeParams(sweep: Pick<SweepSpec, 'space' | 'method' | 'seed'>, k: number): TrialParams {
  const r = trialRandom(sweep.seed, k);
  const axes = Object.entries(sweep.space);
  const gridAxes = sweep.method === 'grid' ? axes.filter(([, d]) => 'grid' in d) : [];
  const gridValue = new Map<string, unknown>();
  let rest = k;
  for (let i = gridAxes.length - 1; i >= 0; i--) {
    const [path, d] = gridAxes[i] as [string, { grid: unknown[] }];
    gridValue.set(path, structuredClone(d.grid[rest % d.grid.length]));
    rest = Math.floor(rest / d.grid.length);
  }
  const params: TrialParams = {};
  // Every axis draws from the generator, grid or not, so adding a grid axis does not reshuffle the others.
  for (const [path, d] of axes) {
    const v = sample(d, r);
    params[path] = gridValue.has(path) ? gridValue.get(path) : v;
  }
  return params;
}

/** The seed a trial's job gets when neither the base nor the space sets one. */
export function trialSeed(sweepSeed: number, k: number): number {
  return trialRandom(sweepSeed ^ 0x5eed5eed, k).uint32();
}

export class PathError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'PathError';
  }
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

/** Sets `path` (dotted; numeric parts index lists) in `target`, creating missing objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node: Container = target;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const where = parts.slice(0, i).join('.') || '(the spec)';
    if (Array.isArray(node)) {
      if (!/^[0-9]+$/.test(part)) throw new PathError(path, `${where} is a list: "${part}" is not an index`);
      const index = Number(part);
      if (index >= node.length) throw new PathError(path, `${where} has ${node.length} items: there is no index ${index}`);
    } else if (/^[0-9]+$/.test(part)) {
      throw new PathError(path, `${where} is not a list: cannot index it with ${part}`);
    }
    const map = node as Record<string, unknown>;
    if (last) {
      map[part] = value;
      return;
    }
    const child = map[part];
    if (child === undefined) map[part] = {};
    else if (!isContainer(child)) throw new PathError(path, `${parts.slice(0, i + 1).join('.')} is ${JSON.stringify(child)}, not an object or a list`);
    node = map[part] as Container;
  });
}

export interface TrialSpecOptions {
  /** Set when the base has no seed of its own (and the space none either). */
  seed: number;
  objective: SweepSpec['objective'];
  name: string;
}

/**
 * The trial's job spec, not yet validated: the base with the parameters set. A base without
 * checkpoint ranking ranks by the objective, so a trial's best checkpoint is its best by the
 * objective; a base without a seed gets the trial's seed; a base without a name gets `name`.
 */
export function trialSpec(base: Record<string, unknown>, params: TrialParams, o: TrialSpecOptions): Record<string, unknown> {
  const spec = structuredClone(base);
  if (spec.name === undefined && !('name' in params)) spec.name = o.name;
  if (spec.seed === undefined && !('seed' in params)) spec.seed = o.seed;
  const ck = spec.checkpoints;
  if (ck === undefined || (isContainer(ck) && !Array.isArray(ck) && ck.monitor === undefined && ck.mode === undefined)) {
    spec.checkpoints = { ...(isContainer(ck) ? ck : {}), monitor: o.objective.metric, mode: o.objective.mode };
  }
  for (const [path, value] of Object.entries(params)) setPath(spec, path, value);
  return spec;
}
