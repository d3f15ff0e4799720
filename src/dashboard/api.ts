// Calls the client has no helper for (one page of a list, a job's checkpoints), unwrapped like the
// client's own: the data, or a TraindError with the status and the API's error body.
import { TraindError, type components, type ErrorBody, type JobEvent, type JobStatus, type JobSummary, type MetricsRecord } from '../client/index.js';
import { isAbort } from './dom.js';
import type { Session } from './session.js';

export type Checkpoint = components['schemas']['Checkpoint'];

/** The server's within-epoch `progress` event (ephemeral, at most a few per second). */
export interface EpochProgress {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** Mean training loss of the epoch so far; null when not finite. */
  loss: number | null;
  samplesPerSec: number;
  /** Seconds left in this epoch. */
  eta: number;
}

export const STATUSES: JobStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];
export const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

async function unwrap<T>(res: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await res;
  if (!response.ok || data === undefined) throw new TraindError(response.status, error as ErrorBody | undefined);
  return data;
}

export interface JobsPage {
  items: JobSummary[];
  /** The cursor for the next older page; null after the oldest job. */
  nextCursor: string | null;
}

/** One page of jobs, newest first, optionally with one status; `cursor` (a page's nextCursor) asks for the jobs older than it. */
export function jobsPage(session: Session, status: JobStatus | null, cursor: string | undefined, limit: number): Promise<JobsPage> {
  return session.call((c) =>
    unwrap(c.api.GET('/v1/jobs', { params: { query: { limit, ...(status !== null ? { status } : {}), ...(cursor !== undefined ? { cursor } : {}) } } })),
  );
}

/** The newest jobs (one page), optionally with one status. */
export async function recentJobs(session: Session, status: JobStatus | null, limit = 50): Promise<JobSummary[]> {
  return (await jobsPage(session, status, undefined, limit)).items;
}

export function checkpoints(session: Session, id: string): Promise<Checkpoint[]> {
  return session.call(async (c) => (await unwrap(c.api.GET('/v1/jobs/{id}/checkpoints', { params: { path: { id } } }))).items);
}

export interface LiveHandlers {
  metrics?(record: MetricsRecord): void;
  progress?(p: EpochProgress): void;
  status?(s: { status: JobStatus; reason?: string | null }): void;
  error?(err: unknown): void;
}

/** Follows a job's events until its terminal status or until `signal` aborts (which is not an error). */
export async function followLive(session: Session, id: string, signal: AbortSignal, on: LiveHandlers, lastEventId?: string): Promise<void> {
  try {
    for await (const e of session.follow(id, { signal, ...(lastEventId !== undefined ? { lastEventId } : {}) })) dispatch(e, on);
  } catch (err) {
    if (!signal.aborted && !isAbort(err)) on.error?.(err);
  }
}

function dispatch(e: JobEvent, on: LiveHandlers): void {
  if (e.event === 'metrics') on.metrics?.(e.data as MetricsRecord);
  else if (e.event === 'progress') on.progress?.(e.data as EpochProgress);
  else if (e.event === 'status') on.status?.(e.data as { status: JobStatus; reason?: string | null });
}
