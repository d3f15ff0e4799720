// Evaluation records: one JSON string per evaluation with a TTL (EVALUATION_TTL_SECONDS from its
// last change), and a per-tenant set of pending ones that bounds how many may wait at once.
import type { Evaluation } from '../core/index.js';
import { EVALUATION_ID_PATTERN } from './ids.js';
import type { Store } from './redis.js';
import { runScript } from './script.js';

export const EVALUATION_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type EvaluationStatus = (typeof EVALUATION_STATUSES)[number];

export interface EvaluationRecord {
  id: string;
  tenant: string;
  jobId: string;
  dataset: string | { builtin: string };
  /** The checkpoint scored, resolved at request time ("best" becomes its epoch). */
  checkpoint: { epoch: number; sha256: string };
  status: EvaluationStatus;
  error: string | null;
  result: Evaluation | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** When the record disappears unless it changes again before. */
  expiresAt: string;
}

export function isFinished(status: EvaluationStatus): boolean {
  return status === 'completed' || status === 'failed';
}

/**
 * KEYS: record, tenant's pending set. ARGV: id, record JSON, ttl seconds, now ms, limit.
 * Drops pending entries past their expiry, then refuses beyond the limit. Returns 'ok' | 'limit'.
 */
const CREATE = `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 'limit' end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + 1000 * tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], 1000 * tonumber(ARGV[3]))
return 'ok'
`;

/**
 * KEYS: record, tenant's pending set. ARGV: id, record JSON, ttl seconds, finished (1/0).
 * Only an existing record changes, and never once finished. Returns 1 when written.
 */
const UPDATE = `
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
local status = cjson.decode(old).status
if status == 'completed' or status == 'failed' then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[4] == '1' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
`;

function expiry(s: Store, now = Date.now()): string {
  return new Date(now + s.config.evaluations.ttlSeconds * 1000).toISOString();
}

/** Writes a new queued evaluation, or returns false when the tenant has too many pending. */
export async function createEvaluation(s: Store, r: Omit<EvaluationRecord, 'expiresAt'>): Promise<EvaluationRecord | null> {
  const now = Date.now();
  const record: EvaluationRecord = { ...r, expiresAt: expiry(s, now) };
  const { ttlSeconds, pendingPerTenant } = s.config.evaluations;
  const res = await runScript(s.redis, CREATE, 2, s.keys.evaluation(r.id), s.keys.tenantPendingEvaluations(r.tenant), r.id, JSON.stringify(record), ttlSeconds, now, pendingPerTenant);
  return res === 'ok' ? record : null;
}

/** The evaluation, or null when it does not exist (or expired) or belongs to another tenant. */
export async function getEvaluation(s: Store, id: string, tenant: string | null = null): Promise<EvaluationRecord | null> {
  if (!EVALUATION_ID_PATTERN.test(id)) return null;
  const raw = await s.redis.get(s.keys.evaluation(id));
  if (raw === null) return null;
  const r = JSON.parse(raw) as EvaluationRecord;
  return tenant !== null && r.tenant !== tenant ? null : r;
}

/** Moves an unfinished evaluation on (its TTL starts again); false when it is gone or already finished. */
export async function updateEvaluation(s: Store, r: EvaluationRecord): Promise<boolean> {
  const record: EvaluationRecord = { ...r, expiresAt: expiry(s) };
  const res = await runScript(
    s.redis,
    UPDATE,
    2,
    s.keys.evaluation(r.id),
    s.keys.tenantPendingEvaluations(r.tenant),
    r.id,
    JSON.stringify(record),
    s.config.evaluations.ttlSeconds,
    isFinished(r.status) ? '1' : '0',
  );
  return res === 1;
}
