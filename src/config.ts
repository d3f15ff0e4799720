// Environment → typed, frozen configuration, parsed once at start-up. Nothing else reads process.env.
// Every variable, its default and its range is listed here (the README copies this table).
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { StorageSettings } from './storage/storage.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** One configured API key: the tenant it belongs to and the hex SHA-256 of the key. */
export interface ApiKeyEntry {
  tenant: string;
  sha256: string;
}

export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const apiKeys = z
  .string()
  .default('')
  .transform((raw, ctx): ApiKeyEntry[] => {
    const entries: ApiKeyEntry[] = [];
    for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
      const [tenant, sha256, ...rest] = part.split(':');
      if (tenant === undefined || sha256 === undefined || rest.length > 0 || !TENANT_PATTERN.test(tenant) || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
        // Never echo the entry: it might be a raw key pasted by mistake.
        ctx.addIssue({ code: 'custom', message: `API_KEYS entry ${entries.length + 1} is not tenant:sha256hex (64 hex digits)` });
        return z.NEVER;
      }
      entries.push({ tenant, sha256: sha256.toLowerCase() });
    }
    return entries;
  });

/** The memory this process may use: the host's, or a container's cgroup limit when lower. */
function availableMemory(): number {
  const total = os.totalmem();
  // Without a limit cgroup v2 reports "max" (2^64) and older Nodes nothing: the host's then.
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 && limit < total ? limit : total;
}

const EnvSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).optional(),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  DATA_DIR: z.string().min(1).default('./data'),
  /** s3://bucket/prefix keeps datasets, checkpoints and resume states in S3-compatible storage; unset: DATA_DIR. */
  STORAGE_URL: z.string().optional(),
  /** An S3-compatible server (MinIO, Ceph, …) instead of AWS: http(s)://host:port. */
  S3_ENDPOINT: z.string().url().optional(),
  /** Path-style addressing (http://host/bucket/key), as MinIO and most S3-compatible servers want; default: on with S3_ENDPOINT. */
  S3_FORCE_PATH_STYLE: bool.optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  /** One S3 request (connect, send, answer) must finish within this, or it is retried. */
  S3_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  /** Attempts per S3 request (the SDK's retries with backoff) before the store counts as unavailable. */
  S3_MAX_ATTEMPTS: int(1, 20).default(4),
  WORKER_CONCURRENCY: int(1, 256).default(Math.max(1, os.availableParallelism())),
  /** The most GEMM threads one job trains on; it gets the cores its worker's running jobs leave, at least 1. */
  /** Keep a trainer process started ahead of the next job (it may preload recent datasets). */
  SPARE_TRAINER: bool.default(true),
  /** Bytes of recently used datasets a spare trainer preloads (default: a quarter of WORKER_MEMORY_BYTES, at most 256 MiB). */
  DATASET_CACHE_BYTES: int(0, Number.MAX_SAFE_INTEGER).optional(),
  TRAIN_THREADS: int(1, 64).default(Math.min(64, Math.max(1, os.availableParallelism()))),
  /** Memory a worker lets its running jobs' estimates add up to; a job waits (in arrival order) until it fits. */
  WORKER_MEMORY_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(Math.floor(availableMemory() / 2)),
  KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1–64)').default('traind'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRAIND_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  API_KEYS: apiKeys,
  /** Finished jobs' records, streams and checkpoint indexes expire after this many seconds (0 = never). */
  RETENTION_SECONDS: int(0, 10 * 365 * 86400).default(7 * 86400),
  METRICS_MAXLEN: int(100, 10_000_000).default(100_000),
  /** BullMQ attempts for a job that throws (a restart after a crash counts as an attempt too). */
  MAX_ATTEMPTS: int(1, 100).default(3),
  /** Stalled-job restarts (worker died) before the job fails. */
  MAX_RESTARTS: int(0, 100).default(3),
  BACKOFF_MS: int(0, 3_600_000).default(2000),
  /** BullMQ job lock; a worker that stops renewing it (died) loses the job after this long. */
  LOCK_DURATION_MS: int(500, 600_000).default(30_000),
  /** How often workers look for stalled jobs (lock expired) to pick them up again. */
  STALLED_INTERVAL_MS: int(500, 600_000).default(30_000),
  IDEMPOTENCY_TTL_SECONDS: int(60, 30 * 86400).default(86400),
  BODY_LIMIT_BYTES: int(1024, 2 ** 31 - 1).default(64 * 1024 * 1024),
  JSON_BODY_LIMIT_BYTES: int(1024, 2 ** 31 - 1).default(1024 * 1024),
  /** Decompressed bytes of one gzipped upload, and the size of the dataset it converts to (float32). */
  MAX_UNCOMPRESSED_BYTES: int(1024, 2 ** 40).default(256 * 1024 * 1024),
  MAX_DATASET_ROWS: int(1, 100_000_000).default(1_000_000),
  MAX_DATASET_FEATURES: int(1, 1_000_000).default(10_000),
  MAX_MODEL_PARAMS: int(1, 1_000_000_000).default(50_000_000),
  MAX_EPOCH_ROWS: int(1, Number.MAX_SAFE_INTEGER).default(1_000_000_000),
  MAX_QUEUED_JOBS_PER_TENANT: int(1, 1_000_000).default(100),
  MAX_CHECKPOINTS: int(1, 1000).default(10),
  MAX_PREDICT_ROWS: int(1, 1_000_000).default(10_000),
  /** A job whose estimated peak memory (src/core/memory.ts) is larger is refused at submission. */
  MAX_JOB_MEMORY_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(2 * 1024 ** 3),
  /** rows × model parameters of one predict request (its multiply-adds). */
  MAX_PREDICT_COST: int(1, Number.MAX_SAFE_INTEGER).default(2e10),
  /** Threads that parse uploads and run predict off the API's event loop. */
  API_CPU_THREADS: int(1, 64).default(1),
  /** Uploads and predicts that may wait for a CPU thread (beyond: 503 with Retry-After). */
  API_CPU_QUEUE: int(0, 10_000).default(8),
  /** V8 heap limit of each API CPU thread, MiB (unset: V8's default); a task past it is answered 503 insufficient_memory. */
  API_CPU_THREAD_HEAP_MB: int(8, 1_000_000).optional(),
  /** Requests per key (or per client address without a key) per window. */
  RATE_LIMIT_MAX: int(1, 10_000_000).default(6000),
  RATE_LIMIT_WINDOW_MS: int(1000, 86_400_000).default(60_000),
  /** SIGTERM: how long running jobs get to hand back before the process closes anyway (it exits within about a second more). */
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(2500),
  /** Wrong API keys from one client address per window before that address is answered 429. */
  AUTH_FAILURE_LIMIT: int(1, 10_000_000).default(20),
  AUTH_FAILURE_WINDOW_MS: int(1000, 86_400_000).default(600_000),
  /** Unset: the client address is the socket's peer and X-Forwarded-For is ignored. */
  TRUST_PROXY: z.string().optional(),
  /** A request's headers and body must have arrived within this long (408 and the socket closed). */
  REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  /** A request's headers must have arrived within this long; at most REQUEST_TIMEOUT_MS. */
  HEADERS_TIMEOUT_MS: int(100, 3_600_000).default(10_000),
  /** In all-in-one mode, start a private redis-server when nothing answers at REDIS_URL. */
  EMBEDDED_REDIS: bool.default(true),
  /** Blocking Redis connections one API process shares among all the jobs its SSE clients follow. */
  SSE_REDIS_CONNECTIONS: int(1, 64).default(4),
  /** A tenant's stored bytes (datasets + checkpoints); an upload or checkpoint beyond it is refused. */
  MAX_TENANT_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(10 * 1024 ** 3),
  /** Uploaded datasets expire this long after their upload or last use (0 = never). */
  DATASET_RETENTION_SECONDS: int(0, 10 * 365 * 86400).default(0),
  /** How often each worker sweeps: expired job ids out of the indexes, expired datasets, orphaned files. */
  SWEEP_INTERVAL_SECONDS: int(1, 86400).default(300),
  /** The bearer token that opens GET /metrics (a tenant's API key does not). */
  METRICS_TOKEN: z.string().optional(),
  /** A worker process serves its Prometheus metrics on this port (0 = not served). */
  WORKER_METRICS_PORT: int(0, 65535).default(0),
  /** Webhooks one tenant may register; POST /v1/webhooks beyond it is 409 too_many_webhooks. */
  MAX_WEBHOOKS_PER_TENANT: int(1, 10_000).default(20),
  /** One webhook delivery attempt (connect, send, first bytes of the answer) must finish within this. */
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  /** Attempts per webhook delivery before it is given up. */
  WEBHOOK_MAX_ATTEMPTS: int(1, 50).default(13),
  /** First retry delay of a webhook delivery; it doubles after each failure (13 attempts from 20 s span about 23 h). */
  WEBHOOK_BACKOFF_MS: int(10, 3_600_000).default(20_000),
  /** Deliveries one worker process makes at once. */
  WEBHOOK_CONCURRENCY: int(1, 1000).default(16),
  /** Most trials one hyperparameter sweep may ask for (maxTrials). */
  MAX_SWEEP_TRIALS: int(1, 10_000).default(1000),
  /** How often each worker drives the active sweeps (finishes ended trials, launches the next ones). */
  SWEEP_TICK_MS: int(100, 600_000).default(2000),
  /** Allow webhook URLs that resolve to loopback, private, link-local or metadata addresses (tests, private networks). */
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  /** How long an evaluation (its status and result) stays readable after it was requested or last changed. */
  EVALUATION_TTL_SECONDS: int(60, 30 * 86400).default(3600),
  /** Evaluations one worker process runs at once (each in a thread of its own). */
  EVALUATION_CONCURRENCY: int(1, 64).default(1),
  /** Queued or running evaluations per tenant; POST /v1/jobs/:id/evaluate beyond it is 429. */
  MAX_PENDING_EVALUATIONS_PER_TENANT: int(1, 10_000).default(20),
});

type Env = z.infer<typeof EnvSchema>;

/** STORAGE_URL (s3://bucket/prefix) and the S3/AWS settings, else the local DATA_DIR. */
function parseStorage(e: Env): StorageSettings | Error {
  const raw = (e.STORAGE_URL ?? '').trim();
  if (raw === '') return { kind: 'local', root: path.resolve(e.DATA_DIR) };
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(raw);
  if (m === null) return new Error(`STORAGE_URL: "${raw.slice(0, 80)}" is not s3://bucket or s3://bucket/prefix (bucket: 3–63 lowercase letters, digits, . and -)`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((p) => p === '.' || p === '..') || prefix.includes('//')) return new Error(`STORAGE_URL: the prefix "${prefix.slice(0, 80)}" has an empty, . or .. segment`);
  const keyId = e.AWS_ACCESS_KEY_ID ?? '';
  const secret = e.AWS_SECRET_ACCESS_KEY ?? '';
  // Never echo the values: they are secrets.
  if ((keyId === '') !== (secret === '')) return new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither (neither: the SDK\'s default chain, e.g. a pod\'s IAM role)');
  return {
    kind: 's3',
    bucket: m[1] ?? '',
    prefix: prefix === '' ? '' : `${prefix}/`,
    region: e.AWS_REGION,
    endpoint: e.S3_ENDPOINT ?? null,
    forcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT !== undefined,
    credentials: keyId === '' ? null : { accessKeyId: keyId, secretAccessKey: secret, ...(e.AWS_SESSION_TOKEN ? { sessionToken: e.AWS_SESSION_TOKEN } : {}) },
    requestTimeoutMs: e.S3_REQUEST_TIMEOUT_MS,
    maxAttempts: e.S3_MAX_ATTEMPTS,
    scratchDir: path.resolve(e.DATA_DIR, 'tmp'),
  };
}

/**
 * TRUST_PROXY as Fastify's trustProxy: `true` (every hop; only behind a proxy that overwrites
 * X-Forwarded-For) or a comma list of the proxies' addresses/CIDRs. (Fastify ignores a bare hop
 * count on purpose, since it cannot tell a proxy from a client that sends the header itself.)
 */
export type TrustProxy = boolean | string;

/** proxy-addr's names for address ranges, accepted as they are. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyEntry(entry: string): boolean {
  if (PROXY_RANGES.has(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

function parseTrustProxy(raw: string | undefined): TrustProxy | Error {
  const v = (raw ?? '').trim();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  const entries = v.split(',').map((e) => e.trim());
  const bad = entries.find((e) => !isProxyEntry(e));
  if (bad !== undefined) return new Error(`TRUST_PROXY: "${bad.slice(0, 60)}" is not true, false or a list of proxy addresses/CIDRs`);
  return entries.join(',');
}

/** Shortest METRICS_TOKEN accepted: /metrics is not rate limited, so the token must be unguessable. */
export const METRICS_TOKEN_MIN_CHARS = 32;

function parseMetricsToken(raw: string | undefined): string | null | Error {
  if (raw === undefined || raw === '') return null;
  // Never echo the value: it is a secret.
  if (raw.length < METRICS_TOKEN_MIN_CHARS) return new Error(`METRICS_TOKEN: must be at least ${METRICS_TOKEN_MIN_CHARS} characters (got ${raw.length}); e.g. openssl rand -hex 32`);
  if (raw.length > 512) return new Error(`METRICS_TOKEN: at most 512 characters (got ${raw.length})`);
  if (!/^[\x21-\x7e]+$/.test(raw)) return new Error('METRICS_TOKEN: printable ASCII without spaces only (it travels in an Authorization header)');
  return raw;
}

export interface Limits {
  /** Largest request body (dataset uploads), bytes; beyond it 413. */
  bodyBytes: number;
  /** Largest JSON body (job specs, predict), bytes. */
  jsonBodyBytes: number;
  /** Largest decompressed upload and largest converted dataset (float32 values), bytes; beyond it 413. */
  uncompressedBytes: number;
  datasetRows: number;
  datasetFeatures: number;
  modelParams: number;
  /** epochs × training rows per job. */
  epochRows: number;
  queuedJobsPerTenant: number;
  /** Most checkpoints a job may keep (checkpoints.keepBest). */
  checkpoints: number;
  predictRows: number;
  /** Largest estimated peak memory of one training job, bytes. */
  jobMemoryBytes: number;
  /** A tenant's stored bytes, datasets plus checkpoints (MAX_TENANT_BYTES). */
  tenantBytes: number;
  /** rows × parameters of one predict request; beyond it 400. */
  predictCost: number;
  /** maxTrials of one sweep. */
  sweepTrials: number;
}

export interface Config {
  port: number;
  /** Listen address. Defaults to 0.0.0.0 with API keys and 127.0.0.1 without (server.ts warns). */
  host: string;
  hostExplicit: boolean;
  redisUrl: string;
  /** Local scratch (spooled request bodies, the embedded Redis) and, without STORAGE_URL, the storage itself. */
  dataDir: string;
  /** Where datasets, checkpoints and resume states are kept (STORAGE_URL, else DATA_DIR). */
  storage: StorageSettings;
  workerConcurrency: number;
  trainThreads: number;
  spareTrainer: boolean;
  datasetCacheBytes: number;
  workerMemoryBytes: number;
  keyPrefix: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  role: 'all' | 'api' | 'worker';
  apiKeys: readonly ApiKeyEntry[];
  retentionSeconds: number;
  metricsMaxLen: number;
  maxAttempts: number;
  maxRestarts: number;
  backoffMs: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  idempotencyTtlSeconds: number;
  /** API threads for upload parsing and predict, and how many requests may wait for them. */
  cpuThreads: number;
  cpuQueue: number;
  /** Each CPU thread's V8 heap limit in MiB; null = V8's default. */
  cpuThreadHeapMb: number | null;
  limits: Limits;
  rateLimit: { max: number; windowMs: number };
  /** Wrong keys per client address per window; beyond it 429 until the window ends. */
  authFailures: { limit: number; windowMs: number };
  trustProxy: TrustProxy;
  timeouts: { requestMs: number; headersMs: number };
  embeddedRedis: boolean;
  shutdownGraceMs: number;
  sseRedisConnections: number;
  /** Seconds after upload or last use before a dataset expires; 0 = never. */
  datasetRetentionSeconds: number;
  sweepIntervalSeconds: number;
  /** How often each worker drives active hyperparameter sweeps. */
  sweepTickMs: number;
  /** Opens GET /metrics when set (see src/metrics/metrics-access.ts); null = not set. */
  metricsToken: string | null;
  /** 0 = a worker process serves no metrics of its own. */
  workerMetricsPort: number;
  webhooks: WebhookConfig;
  evaluations: EvaluationConfig;
}

export interface EvaluationConfig {
  ttlSeconds: number;
  concurrency: number;
  pendingPerTenant: number;
}

export interface WebhookConfig {
  maxPerTenant: number;
  timeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  concurrency: number;
  allowPrivate: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const trustProxy = parseTrustProxy(e.TRUST_PROXY);
  if (trustProxy instanceof Error) throw new ConfigError(`invalid configuration:\n  ${trustProxy.message}`);
  // Node refuses a headers timeout longer than the request timeout: say so in our words.
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) {
    throw new ConfigError(`invalid configuration:\n  HEADERS_TIMEOUT_MS (${e.HEADERS_TIMEOUT_MS}) must not exceed REQUEST_TIMEOUT_MS (${e.REQUEST_TIMEOUT_MS})`);
  }
  const metricsToken = parseMetricsToken(e.METRICS_TOKEN);
  if (metricsToken instanceof Error) throw new ConfigError(`invalid configuration:\n  ${metricsToken.message}`);
  const storage = parseStorage(e);
  if (storage instanceof Error) throw new ConfigError(`invalid configuration:\n  ${storage.message}`);
  const config: Config = {
    port: e.PORT,
    host: e.HOST ?? (e.API_KEYS.length > 0 ? '0.0.0.0' : '127.0.0.1'),
    hostExplicit: e.HOST !== undefined,
    redisUrl: e.REDIS_URL,
    dataDir: e.DATA_DIR,
    storage: Object.freeze(storage),
    workerConcurrency: e.WORKER_CONCURRENCY,
    trainThreads: e.TRAIN_THREADS,
    spareTrainer: e.SPARE_TRAINER,
    datasetCacheBytes: e.DATASET_CACHE_BYTES ?? Math.min(256 * 1024 * 1024, Math.floor(e.WORKER_MEMORY_BYTES / 4)),
    workerMemoryBytes: e.WORKER_MEMORY_BYTES,
    keyPrefix: e.KEY_PREFIX,
    logLevel: e.LOG_LEVEL,
    role: e.TRAIND_ROLE,
    apiKeys: Object.freeze(e.API_KEYS.map((k) => Object.freeze(k))),
    retentionSeconds: e.RETENTION_SECONDS,
    metricsMaxLen: e.METRICS_MAXLEN,
    maxAttempts: e.MAX_ATTEMPTS,
    maxRestarts: e.MAX_RESTARTS,
    backoffMs: e.BACKOFF_MS,
    lockDurationMs: e.LOCK_DURATION_MS,
    stalledIntervalMs: e.STALLED_INTERVAL_MS,
    idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
    cpuThreads: e.API_CPU_THREADS,
    cpuQueue: e.API_CPU_QUEUE,
    cpuThreadHeapMb: e.API_CPU_THREAD_HEAP_MB ?? null,
    limits: Object.freeze({
      bodyBytes: e.BODY_LIMIT_BYTES,
      jsonBodyBytes: e.JSON_BODY_LIMIT_BYTES,
      uncompressedBytes: e.MAX_UNCOMPRESSED_BYTES,
      datasetRows: e.MAX_DATASET_ROWS,
      datasetFeatures: e.MAX_DATASET_FEATURES,
      modelParams: e.MAX_MODEL_PARAMS,
      epochRows: e.MAX_EPOCH_ROWS,
      queuedJobsPerTenant: e.MAX_QUEUED_JOBS_PER_TENANT,
      checkpoints: e.MAX_CHECKPOINTS,
      predictRows: e.MAX_PREDICT_ROWS,
      jobMemoryBytes: e.MAX_JOB_MEMORY_BYTES,
      tenantBytes: e.MAX_TENANT_BYTES,
      predictCost: e.MAX_PREDICT_COST,
      sweepTrials: e.MAX_SWEEP_TRIALS,
    }),
    rateLimit: Object.freeze({ max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS }),
    authFailures: Object.freeze({ limit: e.AUTH_FAILURE_LIMIT, windowMs: e.AUTH_FAILURE_WINDOW_MS }),
    trustProxy,
    timeouts: Object.freeze({ requestMs: e.REQUEST_TIMEOUT_MS, headersMs: e.HEADERS_TIMEOUT_MS }),
    embeddedRedis: e.EMBEDDED_REDIS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    sseRedisConnections: e.SSE_REDIS_CONNECTIONS,
    datasetRetentionSeconds: e.DATASET_RETENTION_SECONDS,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    sweepTickMs: e.SWEEP_TICK_MS,
    metricsToken,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    webhooks: Object.freeze({
      maxPerTenant: e.MAX_WEBHOOKS_PER_TENANT,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
    }),
    evaluations: Object.freeze({
      ttlSeconds: e.EVALUATION_TTL_SECONDS,
      concurrency: e.EVALUATION_CONCURRENCY,
      pendingPerTenant: e.MAX_PENDING_EVALUATIONS_PER_TENANT,
    }),
  };
  return Object.freeze(config);
}
