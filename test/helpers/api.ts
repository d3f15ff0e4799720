// A small HTTP client for a running API process (raw status and body, for tests about answers),
// and job helpers built on the typed client (src/client): submit, wait for a status or an epoch,
// read every metrics record.

import { createTraindClient, type TraindClient } from '../../src/client/index.js';
import { waitFor } from './wait.js';

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiClient {
  baseUrl: string;
  /** The typed client integrators use, on the same server and key. */
  traind: TraindClient;
  get<T = unknown>(path: string, headers?: Record<string, string>): Promise<HttpResult<T>>;
  post<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult<T>>;
  bytes(path: string): Promise<{ status: number; bytes: Uint8Array; headers: Headers }>;
}

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function apiClient(baseUrl: string, apiKey?: string): ApiClient {
  const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  return {
    baseUrl,
    traind: createTraindClient({ baseUrl, ...(apiKey ? { apiKey } : {}) }),
    async get<T>(path: string, headers: Record<string, string> = {}) {
      const res = await fetch(`${baseUrl}${path}`, { headers: { ...auth, ...headers } });
      return { status: res.status, body: (await parse(res)) as T, headers: res.headers };
    },
    async post<T>(path: string, body?: unknown, headers: Record<string, string> = {}) {
      const init: RequestInit = { method: 'POST', headers: { ...auth, ...headers } };
      if (body !== undefined) {
        init.body = JSON.stringify(body);
        init.headers = { 'content-type': 'application/json', ...auth, ...headers };
      }
      const res = await fetch(`${baseUrl}${path}`, init);
      return { status: res.status, body: (await parse(res)) as T, headers: res.headers };
    },
    async bytes(path: string) {
      const res = await fetch(`${baseUrl}${path}`, { headers: auth });
      return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
    },
  };
}

export interface HistoryEntry {
  status: string;
  at: string;
  reason?: string;
  attempt: number;
}

export interface MetricsRecord {
  epoch: number;
  step: number;
  loss: number;
  seconds: number;
  samplesPerSec: number;
  attempt: number;
  [metric: string]: number;
}

export interface JobView {
  id: string;
  status: string;
  reason: string | null;
  history: HistoryEntry[];
  progress: { epoch: number; epochs: number };
  latest: MetricsRecord | null;
  best: MetricsRecord | null;
  error?: string | null;
  spec: Record<string, unknown>;
  [key: string]: unknown;
}

export const TERMINAL = ['completed', 'failed', 'cancelled'];

export async function submitJob(api: ApiClient, spec: unknown): Promise<JobView> {
  return (await api.traind.submitJob(spec as Parameters<TraindClient['submitJob']>[0])) as unknown as JobView;
}

export async function getJob(api: ApiClient, id: string): Promise<JobView> {
  return (await api.traind.getJob(id)) as unknown as JobView;
}

/** Waits until the job's status is one of `statuses`; fails early if it ends in another terminal one. */
export async function waitForStatus(api: ApiClient, id: string, statuses: string[], timeoutMs: number): Promise<JobView> {
  return waitFor(
    async () => {
      const job = await getJob(api, id);
      if (statuses.includes(job.status)) return job;
      if (TERMINAL.includes(job.status)) throw new Error(`job ended ${job.status} (${job.reason ?? ''}) while waiting for ${statuses.join('|')}: ${JSON.stringify(job.history)}`);
      return null;
    },
    { timeoutMs, intervalMs: 50, what: `job ${id} to be ${statuses.join('|')}` },
  );
}

/** Waits until the job has recorded at least `epoch` epochs (progress.epoch). */
export async function waitForEpoch(api: ApiClient, id: string, epoch: number, timeoutMs: number): Promise<JobView> {
  return waitFor(
    async () => {
      const job = await getJob(api, id);
      if (job.progress.epoch >= epoch) return job;
      if (TERMINAL.includes(job.status)) throw new Error(`job ended ${job.status} (${job.reason ?? ''}) before epoch ${epoch}`);
      return null;
    },
    { timeoutMs, intervalMs: 25, what: `job ${id} to reach epoch ${epoch}` },
  );
}

/** Every metrics record of the job, oldest first, by paging with the cursor. */
export async function allMetrics(api: ApiClient, id: string): Promise<MetricsRecord[]> {
  return (await api.traind.allMetrics(id)) as MetricsRecord[];
}

/** The epochs recorded by each attempt, in stream order. */
export function epochsByAttempt(records: MetricsRecord[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const r of records) {
    const list = out.get(r.attempt) ?? [];
    list.push(r.epoch);
    out.set(r.attempt, list);
  }
  return out;
}

/** A metrics record without its timing fields and attempt: what must be identical across runs. */
export function deterministicPart(m: Record<string, unknown>): Record<string, unknown> {
  const { seconds: _s, samplesPerSec: _r, attempt: _a, ...rest } = m;
  return rest;
}
