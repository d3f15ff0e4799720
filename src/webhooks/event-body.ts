// What a webhook receives: {"type", "timestamp", "data"}, built once per event from its outbox
// entry, so every webhook and every retry gets the same bytes.
import { presentJob } from '../api/present.js';
import { decodeRecord } from '../store/jobs.js';

/** An outbox entry's fields: type, at, and either job (HGETALL pairs as JSON) or webhook (a ping). */
export type OutboxFields = Record<string, string>;

/** An event's id (the `webhook-id` header) from its outbox entry id: the same on every re-dispatch. */
export function eventIdOf(entryId: string): string {
  return `evt_${entryId}`;
}

export function fieldsOf(flat: string[]): OutboxFields {
  const out: OutboxFields = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

export interface OutboxEvent {
  type: string;
  tenant: string;
  jobId: string | null;
  /** Only this webhook (a ping); null: every webhook of the tenant subscribed to the type. */
  webhookId: string | null;
  body: string;
}

/** The event, or null for an entry that cannot be read (logged and acknowledged by the caller). */
export function outboxEvent(f: OutboxFields): OutboxEvent | null {
  const type = f.type;
  const at = f.at;
  if (type === undefined || at === undefined) return null;
  if (type === 'webhook.ping') {
    if (f.tenant === undefined || f.webhook === undefined) return null;
    const body = JSON.stringify({ type, timestamp: at, data: { webhookId: f.webhook } });
    return { type, tenant: f.tenant, jobId: null, webhookId: f.webhook, body };
  }
  let record;
  try {
    record = decodeRecord(fieldsOf(JSON.parse(f.job ?? '[]') as string[]));
  } catch {
    // A corrupt snapshot would fail the same way on every retry: skipping it keeps the outbox moving.
    return null;
  }
  if (record === null) return null;
  // The job as GET /v1/jobs/:id shows it at the moment of the event (its queue position is not known here).
  const body = JSON.stringify({ type, timestamp: at, data: presentJob(record, null) });
  return { type, tenant: record.tenant, jobId: record.id, webhookId: null, body };
}
