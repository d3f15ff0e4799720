// Sweep state, all of it in Redis: the sweep hash (spec, status, counters), its trials, the live
// set bounded by parallelism, finished trials, objectives, ASHA decisions and the event stream.
// Every change is one atomic Lua script (lua/*Sweep*, *Trial*, reportEpoch), which checks the
// sweep's state first, so any number of API and worker processes may run them for the same sweep
// and a repeated call (a process that died before it heard the answer) changes nothing twice; this
// file encodes their arguments and decodes what they stored.
import type { SweepSpec } from '../spec/sweep-spec.js';
import type { Store } from './redis.js';
import { runScript } from './scripts.js';

export const SWEEP_STATUSES = ['running', 'cancelling', 'completed', 'cancelled'] as const;
export type SweepStatus = (typeof SWEEP_STATUSES)[number];

/** How a finished trial ended, as the sweep counts it. */
export const TRIAL_OUTCOMES = ['completed', 'pruned', 'failed', 'cancelled', 'invalid'] as const;
export type TrialOutcome = (typeof TRIAL_OUTCOMES)[number];

export interface SweepRecord {
  id: string;
  tenant: string;
  name: string | null;
  spec: SweepSpec;
  status: SweepStatus;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Trials launched so far (the next trial's number). */
  launched: number;
  /** Finished trials by outcome. */
  finished: Record<TrialOutcome, number>;
}

export interface TrialEntry {
  /** Null for a trial whose spec could not run (outcome 'invalid'). */
  jobId: string | null;
  params: Record<string, unknown>;
}

export interface TrialDone {
  outcome: TrialOutcome;
  status: string;
  reason: string | null;
  error?: string;
}

export interface TrialObjective {
  /** The best objective reported so far (null when none was a number). */
  value: number | null;
  epoch: number | null;
  /** The last epoch reported. */
  last: number;
}

export interface Decision {
  seq: number;
  trial: number;
  jobId: string;
  rung: number;
  value: number | null;
  cutoff: number | null;
  /** Trials recorded at this rung before this one. */
  among: number;
  decision: 'continue' | 'prune';
  at: string;
}

export interface SweepEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export function isSweepFinished(status: SweepStatus): boolean {
  return status === 'completed' || status === 'cancelled';
}

const nowIso = () => new Date().toISOString();

export type CreateSweepResult = { kind: 'created'; sweep: SweepRecord } | { kind: 'exists'; sweepId: string; bodyHash: string };

/**
 * Writes a new running sweep (hash, tenant index, active set), unless `idempotency.key` (a digest
 * of the client's Idempotency-Key) was seen: then the earlier sweep's id and body hash.
 */
export async function createSweep(
  s: Store,
  r: { id: string; tenant: string; name: string | null; spec: SweepSpec; idempotency?: { key: string; bodyHash: string } },
): Promise<CreateSweepResult> {
  const at = nowIso();
  const fields = ['id', r.id, 'tenant', r.tenant, 'spec', JSON.stringify(r.spec), 'status', 'running', 'createdAt', at, 'updatedAt', at, 'next', '0', 'seq', '0'];
  fields.push('maxTrials', String(r.spec.maxTrials), 'parallelism', String(r.spec.parallelism));
  if (r.name !== null) fields.push('name', r.name);
  const k = s.keys;
  const idem = r.idempotency;
  const res = (await runScript(
    s.redis,
    'createSweep',
    [k.sweep(r.id), k.tenantSweeps(r.tenant), k.activeSweeps(), k.sweepStream(r.id), sweepIdempotencyKey(s, r.tenant, idem?.key ?? '-')],
    [r.id, idem === undefined ? '0' : '1', idem?.bodyHash ?? '', String(s.config.idempotencyTtlSeconds), ...fields],
  )) as [string, string];
  if (res[0] === 'exists') {
    const [sweepId = '', bodyHash = ''] = res[1].split(' ');
    return { kind: 'exists', sweepId, bodyHash };
  }
  return { kind: 'created', sweep: decodeSweep(Object.fromEntries(chunk(fields))) as SweepRecord };
}

/** The Redis key of a sweep's Idempotency-Key: the tenant's idempotency space, apart from jobs' keys. */
export function sweepIdempotencyKey(s: Store, tenant: string, key: string): string {
  return s.keys.idempotency(tenant, `sweep:${key}`);
}

function chunk(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

export function decodeSweep(h: Record<string, string>): SweepRecord | null {
  if (h.id === undefined || h.tenant === undefined || h.spec === undefined || h.status === undefined) return null;
  const finished = Object.fromEntries(TRIAL_OUTCOMES.map((o) => [o, Number(h[`n:${o}`] ?? 0)])) as Record<TrialOutcome, number>;
  return {
    id: h.id,
    tenant: h.tenant,
    name: h.name ?? null,
    spec: JSON.parse(h.spec) as SweepSpec,
    status: h.status as SweepStatus,
    reason: h.reason || null,
    createdAt: h.createdAt ?? '',
    updatedAt: h.updatedAt ?? '',
    finishedAt: h.finishedAt ?? null,
    launched: Number(h.next ?? 0),
    finished,
  };
}

/** The sweep, or null when it does not exist or (given a tenant) is another tenant's. */
export async function getSweep(s: Store, id: string, tenant: string | null = null): Promise<SweepRecord | null> {
  const r = decodeSweep(await s.redis.hgetall(s.keys.sweep(id)));
  if (r === null || (tenant !== null && r.tenant !== tenant)) return null;
  return r;
}

/** A tenant's sweeps, newest first; `cursor` is the last id of the previous page. */
export async function listSweeps(s: Store, tenant: string, opts: { limit: number; cursor?: string | undefined }): Promise<{ items: SweepRecord[]; nextCursor: string | null }> {
  const index = s.keys.tenantSweeps(tenant);
  const ids = await s.redis.zrevrangebylex(index, opts.cursor ? `(${opts.cursor}` : '+', '-', 'LIMIT', 0, opts.limit + 1);
  const pipe = s.redis.pipeline();
  for (const id of ids) pipe.hgetall(s.keys.sweep(id));
  const rows = (await pipe.exec()) ?? [];
  const found: SweepRecord[] = [];
  const stale: string[] = [];
  ids.forEach((id, i) => {
    const r = decodeSweep((rows[i]?.[1] ?? {}) as Record<string, string>);
    if (r === null) stale.push(id);
    else if (r.tenant === tenant) found.push(r);
  });
  // Finished sweeps expire after the retention period; their index entries go here, lazily.
  if (stale.length > 0) await s.redis.zrem(index, ...stale);
  const items = found.slice(0, opts.limit);
  return { items, nextCursor: ids.length > opts.limit && items.length > 0 ? (items[items.length - 1] as SweepRecord).id : null };
}

export type ClaimResult = 'ok' | 'race' | 'busy' | 'full' | 'stopped' | 'missing';

/** Launches trial `k` (see CLAIM_TRIAL); an invalid trial (`done` given) is recorded finished at once. */
export async function claimTrial(s: Store, sweepId: string, k: number, entry: TrialEntry, done: TrialDone | null): Promise<ClaimResult> {
  const keys = s.keys;
  const event = done === null ? { trial: k, jobId: entry.jobId, params: entry.params } : { trial: k, jobId: null, params: entry.params, ...done };
  return (await runScript(
    s.redis,
    'claimTrial',
    [
      keys.sweep(sweepId),
      keys.sweepTrials(sweepId),
      keys.sweepLive(sweepId),
      keys.sweepDone(sweepId),
      keys.sweepStream(sweepId),
    ],
    [
      String(k),
      JSON.stringify(entry),
      done === null ? '1' : '0',
      nowIso(),
      done === null ? '' : JSON.stringify(done),
      JSON.stringify(event),
      String(s.config.metricsMaxLen),
    ],
  )) as ClaimResult;
}

/** Records a live trial as finished; false when it already was. */
export async function finishTrial(s: Store, sweepId: string, k: number, jobId: string | null, done: TrialDone): Promise<boolean> {
  const keys = s.keys;
  const res = await runScript(
    s.redis,
    'finishTrial',
    [
      keys.sweep(sweepId),
      keys.sweepLive(sweepId),
      keys.sweepDone(sweepId),
      keys.sweepStream(sweepId),
    ],
    [
      String(k),
      done.outcome,
      JSON.stringify(done),
      nowIso(),
      JSON.stringify({ trial: k, jobId, ...done }),
      String(s.config.metricsMaxLen),
    ],
  );
  return res === 1;
}

/** Every key of the sweep but the tenant index and the active set. */
function sweepKeys(s: Store, id: string): string[] {
  const k = s.keys;
  return [k.sweepTrials(id), k.sweepDone(id), k.sweepObjective(id), k.sweepDecisions(id), k.sweepDecisionLog(id), k.sweepPruned(id), k.sweepJobs(id), k.sweepRungs(id)];
}

export type FinishSweepResult = 'completed' | 'cancelled' | 'live' | 'pending' | 'already' | 'missing';

export async function finishSweep(s: Store, id: string): Promise<FinishSweepResult> {
  const k = s.keys;
  return (await runScript(
    s.redis,
    'finishSweep',
    [k.sweep(id), k.sweepLive(id), k.activeSweeps(), k.sweepStream(id), ...sweepKeys(s, id)],
    [id, nowIso(), String(s.config.retentionSeconds), String(s.config.metricsMaxLen)],
  )) as FinishSweepResult;
}

/** Stops launching trials; 'ok', or the status the sweep already had. */
export async function markSweepCancelling(s: Store, id: string): Promise<string> {
  return (await runScript(s.redis, 'cancelSweep', [s.keys.sweep(id)], [nowIso()])) as string;
}

export interface EpochReport {
  sweepId: string;
  trial: number;
  jobId: string;
  epoch: number;
  /** The objective metric's value this epoch (undefined or not finite: none). */
  value: number | undefined;
  /** The trial's own epochs (ASHA's max_t). */
  epochs: number;
}

/** Reports one recorded epoch of a trial; 'prune' means stop it now. */
export async function reportTrialEpoch(s: Store, spec: SweepSpec, r: EpochReport): Promise<'continue' | 'prune' | 'missing'> {
  const k = s.keys;
  const id = r.sweepId;
  const et = spec.earlyTermination;
  return (await runScript(
    s.redis,
    'reportEpoch',
    [
      k.sweep(id),
      k.sweepObjective(id),
      k.sweepDecisions(id),
      k.sweepDecisionLog(id),
      k.sweepPruned(id),
      k.sweepStream(id),
      k.sweepRungs(id),
    ],
    [
      String(r.trial),
      r.jobId,
      String(r.epoch),
      r.value !== undefined && Number.isFinite(r.value) ? String(r.value) : '',
      spec.objective.mode === 'max' ? '1' : '-1',
      et.type === 'asha' ? '1' : '0',
      et.type === 'asha' ? String(et.gracePeriod) : '0',
      et.type === 'asha' ? String(et.reductionFactor) : '0',
      String(r.epochs),
      nowIso(),
      String(s.config.metricsMaxLen),
    ],
  )) as 'continue' | 'prune' | 'missing';
}

export async function isTrialPruned(s: Store, sweepId: string, trial: number): Promise<boolean> {
  return (await s.redis.sismember(s.keys.sweepPruned(sweepId), String(trial))) === 1;
}

export interface SweepState {
  trials: Map<number, TrialEntry>;
  live: Set<number>;
  done: Map<number, TrialDone>;
  objectives: Map<number, TrialObjective>;
}

function numberedJson<T>(h: Record<string, string>): Map<number, T> {
  return new Map(Object.entries(h).map(([k, v]) => [Number(k), JSON.parse(v) as T]));
}

/** The sweep's trials, live set, finished trials and objectives, read together. */
export async function readSweepState(s: Store, id: string): Promise<SweepState> {
  const k = s.keys;
  const res = (await s.redis.multi().hgetall(k.sweepTrials(id)).smembers(k.sweepLive(id)).hgetall(k.sweepDone(id)).hgetall(k.sweepObjective(id)).exec()) ?? [];
  const [trials, live, done, objectives] = res.map((r) => r[1]) as [Record<string, string>, string[], Record<string, string>, Record<string, string>];
  return {
    trials: numberedJson<TrialEntry>(trials ?? {}),
    live: new Set((live ?? []).map(Number)),
    done: numberedJson<TrialDone>(done ?? {}),
    objectives: numberedJson<TrialObjective>(objectives ?? {}),
  };
}

/** The live trials only (what the driver walks every tick). */
export async function liveTrials(s: Store, id: string): Promise<{ trial: number; entry: TrialEntry | null }[]> {
  const live = (await s.redis.smembers(s.keys.sweepLive(id))).map(Number).sort((a, b) => a - b);
  if (live.length === 0) return [];
  const raw = await s.redis.hmget(s.keys.sweepTrials(id), ...live.map(String));
  return live.map((trial, i) => ({ trial, entry: raw[i] ? (JSON.parse(raw[i] as string) as TrialEntry) : null }));
}

/** ASHA decisions in the order they were made. */
export async function readDecisions(s: Store, id: string): Promise<Decision[]> {
  return (await s.redis.lrange(s.keys.sweepDecisionLog(id), 0, -1)).map((e) => JSON.parse(e) as Decision);
}

/** Sweep events strictly after `after` (null = from the start), oldest first. */
export async function readSweepEvents(s: Store, id: string, after: string | null, limit: number): Promise<SweepEvent[]> {
  const raw = (await s.redis.xrange(s.keys.sweepStream(id), after === null ? '-' : `(${after}`, '+', 'COUNT', limit)) as [string, string[]][];
  const out: SweepEvent[] = [];
  for (const [eid, fields] of raw) {
    const f = Object.fromEntries(chunk(fields));
    try {
      out.push({ id: eid, type: f.type ?? 'unknown', data: JSON.parse(f.data ?? '{}') as Record<string, unknown> });
    } catch {
      // A damaged entry is skipped; the cursor still moves past it.
    }
  }
  return out;
}

/** Adds a trial's job to the sweep's job index (after its record exists). */
export async function indexTrialJob(s: Store, sweepId: string, jobId: string): Promise<void> {
  await s.redis.zadd(s.keys.sweepJobs(sweepId), 0, jobId);
}

export async function activeSweepIds(s: Store): Promise<string[]> {
  return s.redis.smembers(s.keys.activeSweeps());
}
