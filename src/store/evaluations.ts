// Evaluation records: one JSON string per evaluation with a TTL (EVALUATION_TTL_SECONDS from its
// last change), and a per-tenant set of pending ones that bounds how many may wait at once.
import type { Evaluation } from '../core/index.js';
import { EVALUATION_ID_PATTERN } from './ids.js';
import type { Store } from './redis.js';
import { runScript } from './scripts.js';

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

function expiry(s: Store, now = Date.now()): string {
  return new Date(now + s.config.evaluations.ttlSeconds * 1000).toISOString();
}

/** Writes a new queued evaluation, or returns false when the tenant has too many pending. */
export async function createEvaluation(s: Store, r: Omit<EvaluationRecord, 'expiresAt'>): Promise<EvaluationRecord | null> {
  const now = Date.now();
  const record: EvaluationRecord = { ...r, expiresAt: expiry(s, now) };
  const { ttlSeconds, pendingPerTenant } = s.config.evaluations;
  const res = await runScript(s.redis, 'createEvaluation', [s.keys.evaluation(r.id), s.keys.tenantPendingEvaluations(r.tenant)], [r.id, JSON.stringify(record), ttlSeconds, now, pendingPerTenant]);
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
    'updateEvaluation',
    [s.keys.evaluation(r.id), s.keys.tenantPendingEvaluations(r.tenant)],
    [r.id, JSON.stringify(record), s.config.evaluations.ttlSeconds, isFinished(r.status) ? '1' : '0'],
  );
  return res === 1;
}
