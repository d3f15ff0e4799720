// Every Redis key name the service uses, built from the configured prefix in one place.
// BullMQ gets the same prefix with its own queue name (see src/queue/queue.ts), so `traind:train:*` is BullMQ's.

export interface Keys {
  readonly prefix: string;
  /** Hash: the job record. */
  job(jobId: string): string;
  /** Stream: the job's metrics records and status events. */
  stream(jobId: string): string;
  /** String: set when a cancel was requested. */
  cancel(jobId: string): string;
  /** Hash: checkpoint index, field `e:<epoch>` → JSON meta, field `best` → epoch. */
  checkpoints(jobId: string): string;
  /** Pub/sub channel carrying the ids of jobs to cancel. */
  cancelChannel(): string;
  /** Pub/sub channel of one job's within-epoch progress (ephemeral: never stored). */
  progressChannel(jobId: string): string;
  /** Sorted set (score 0, members ordered by id = creation time): a tenant's jobs. */
  tenantJobs(tenant: string): string;
  /** Sorted set like tenantJobs, one per status. */
  tenantJobsByStatus(tenant: string, status: string): string;
  /** String `jobId bodyHash` for an Idempotency-Key. */
  idempotency(tenant: string, key: string): string;
  /** Hash: dataset metadata. */
  dataset(datasetId: string): string;
  /** Hash: an upload still processing or failed (expires). */
  datasetUpload(datasetId: string): string;
  /** String with a short TTL, renewed by the API process receiving or converting the upload: it is alive. */
  datasetUploadLease(datasetId: string): string;
  /** Sorted set (score 0, lexicographic ids): a tenant's datasets. */
  tenantDatasets(tenant: string): string;
  /** Counter with a TTL: wrong API keys from one client address in the current window. */
  authFailures(address: string): string;
  /** Hash: a tenant's stored bytes (`datasets`, `checkpoints`) and `trainingSeconds`. Never expires. */
  tenantUsage(tenant: string): string;
  /**
   * Hash: jobId → bytes of its kept checkpoints. Outlives the job's record (which expires), so the
   * sweeper can give the bytes back once the record is gone.
   */
  tenantCheckpointBytes(tenant: string): string;
  /** Hash: a webhook (url, events JSON, secret, …). */
  webhook(webhookId: string): string;
  /** Sorted set (score 0, lexicographic ids): a tenant's webhooks. Its existence gates the outbox. */
  tenantWebhooks(tenant: string): string;
  /** Hash: eventId → JSON delivery record of one webhook. */
  webhookDeliveries(webhookId: string): string;
  /** Sorted set (score = event time in ms): the order of a webhook's deliveries. */
  webhookDeliveryOrder(webhookId: string): string;
  /** Stream: the webhook outbox, one entry per job event of a tenant with webhooks (all tenants). */
  webhookEvents(): string;
  /** Hash: a sweep (spec, status, counters); its other keys share this name as a prefix. */
  sweep(sweepId: string): string;
  /** Hash: trial number → JSON {jobId, params} (jobId null for a trial whose spec could not run). */
  sweepTrials(sweepId: string): string;
  /** Set: trial numbers launched and not yet finished (bounded by parallelism). */
  sweepLive(sweepId: string): string;
  /** Hash: trial number → JSON {status, reason} once the trial finished. */
  sweepDone(sweepId: string): string;
  /** Hash: trial number → JSON {value, epoch, last}: its best objective so far and its last reported epoch. */
  sweepObjective(sweepId: string): string;
  /** Hash: `trial:rung` → ASHA decision (continue | prune), so a repeated report gets the same answer. */
  sweepDecisions(sweepId: string): string;
  /** List: every ASHA decision in the order it was made (JSON). */
  sweepDecisionLog(sweepId: string): string;
  /** Set: trials ASHA stopped. */
  sweepPruned(sweepId: string): string;
  /** Stream: the sweep's events (trial_started, trial_reported, trial_pruned, trial_finished, sweep_finished). */
  sweepStream(sweepId: string): string;
  /** Sorted set (score 0, lexicographic ids): the sweep's trial jobs, for GET /v1/jobs?sweep=. */
  sweepJobs(sweepId: string): string;
  /** Hash: rung epoch → JSON list of the objectives recorded there (sign-adjusted: larger is better). */
  sweepRungs(sweepId: string): string;
  /** Sorted set (score 0, lexicographic ids): a tenant's sweeps. */
  tenantSweeps(tenant: string): string;
  /** Set: sweeps not yet finished, which every worker's sweep ticker drives. */
  activeSweeps(): string;
  /** String (JSON, with a TTL): an evaluation's record and, once finished, its result. */
  evaluation(evaluationId: string): string;
  /** Sorted set (score = expiry in ms): a tenant's queued and running evaluations, for the pending limit. */
  tenantPendingEvaluations(tenant: string): string;
}

export function createKeys(prefix: string): Keys {
  const p = prefix.endsWith(':') ? prefix.slice(0, -1) : prefix;
  return Object.freeze({
    prefix: p,
    job: (id: string) => `${p}:job:${id}`,
    stream: (id: string) => `${p}:job:${id}:stream`,
    cancel: (id: string) => `${p}:job:${id}:cancel`,
    checkpoints: (id: string) => `${p}:job:${id}:checkpoints`,
    cancelChannel: () => `${p}:cancel`,
    progressChannel: (id: string) => `${p}:job:${id}:progress`,
    tenantJobs: (t: string) => `${p}:tenant:${t}:jobs`,
    tenantJobsByStatus: (t: string, s: string) => `${p}:tenant:${t}:jobs:${s}`,
    idempotency: (t: string, k: string) => `${p}:tenant:${t}:idem:${k}`,
    dataset: (id: string) => `${p}:dataset:${id}`,
    datasetUpload: (id: string) => `${p}:dataset:${id}:upload`,
    datasetUploadLease: (id: string) => `${p}:dataset:${id}:upload-lease`,
    tenantDatasets: (t: string) => `${p}:tenant:${t}:datasets`,
    authFailures: (address: string) => `${p}:authfail:${address}`,
    tenantUsage: (t: string) => `${p}:tenant:${t}:usage`,
    tenantCheckpointBytes: (t: string) => `${p}:tenant:${t}:checkpoint-bytes`,
    webhook: (id: string) => `${p}:webhook:${id}`,
    tenantWebhooks: (t: string) => `${p}:tenant:${t}:webhooks`,
    webhookDeliveries: (id: string) => `${p}:webhook:${id}:deliveries`,
    webhookDeliveryOrder: (id: string) => `${p}:webhook:${id}:delivery-order`,
    webhookEvents: () => `${p}:webhook-events`,
    sweep: (id: string) => `${p}:sweep:${id}`,
    sweepTrials: (id: string) => `${p}:sweep:${id}:trials`,
    sweepLive: (id: string) => `${p}:sweep:${id}:live`,
    sweepDone: (id: string) => `${p}:sweep:${id}:done`,
    sweepObjective: (id: string) => `${p}:sweep:${id}:objective`,
    sweepDecisions: (id: string) => `${p}:sweep:${id}:decisions`,
    sweepDecisionLog: (id: string) => `${p}:sweep:${id}:decision-log`,
    sweepPruned: (id: string) => `${p}:sweep:${id}:pruned`,
    sweepStream: (id: string) => `${p}:sweep:${id}:stream`,
    sweepJobs: (id: string) => `${p}:sweep:${id}:jobs`,
    sweepRungs: (id: string) => `${p}:sweep:${id}:rungs`,
    tenantSweeps: (t: string) => `${p}:tenant:${t}:sweeps`,
    activeSweeps: () => `${p}:sweeps:active`,
    evaluation: (id: string) => `${p}:evaluation:${id}`,
    tenantPendingEvaluations: (t: string) => `${p}:tenant:${t}:evaluations:pending`,
  });
}
