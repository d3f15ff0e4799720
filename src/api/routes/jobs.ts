// /v1/jobs: submit (idempotent, per-tenant queue limit), list, get, cancel.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { waitingPosition } from '../../queue/bullmq-internals.js';
import { enqueueTrainJob, removeQueuedJob } from '../../queue/queue.js';
import { JobSpecSchema } from '../../spec/job-spec.js';
import { resolveSpec } from '../../spec/to-train-config.js';
import { requestCancel } from '../../store/cancel.js';
import { dropInitCheckpoint } from '../../store/init-checkpoint.js';
import { newJobId } from '../../store/ids.js';
import { createJob, forgetIdempotencyKey, getJob, isTerminal, listJobs, transitionJob, type JobRecord } from '../../store/jobs.js';
import type { RouteContext } from '../context.js';
import { ApiError, ErrorBodySchema, issuesError, notFound } from '../errors.js';
import { pinParentCheckpoint } from '../init-from.js';
import { bodyHash, idemKey } from '../idempotency.js';
import { admitJobStorage } from '../job-quota.js';
import { presentJob, presentJobSummary } from '../present.js';
import { IdempotencyHeaders, JobIdParams, JobListQuery, JobListSchema, JobSchema } from '../schemas.js';
import { checkSubmittedSpec } from '../validate-spec.js';

// Answers every route may give (401, 429, 503, …) are added to the document in one place
// (openapi-contract.ts); routes declare only their own.
const errors = { 400: ErrorBodySchema };

export function jobRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;
  const queue = () => {
    if (ctx.queue === null) throw new ApiError('unavailable', 'this app instance has no job queue');
    return ctx.queue;
  };

  async function withPosition(job: JobRecord) {
    const pos = job.status === 'queued' ? await waitingPosition(queue(), ctx.redis, job.id).catch(() => null) : null;
    return presentJob(job, pos);
  }

  async function replay(tenant: string, key: string, jobId: string, hash: string, wantHash: string) {
    if (hash !== wantHash) {
      throw new ApiError('idempotency_conflict', 'this Idempotency-Key was used with a different request body', { path: 'headers.idempotency-key', jobId });
    }
    const job = await getJob(s, jobId, tenant);
    if (job === null) {
      await forgetIdempotencyKey(s, tenant, key);
      return null;
    }
    return job;
  }

  return async (app) => {
    app.post(
      '/v1/jobs',
      {
        schema: {
          summary: 'Submit a training job',
          description:
            'The body is the job spec. With an Idempotency-Key header a retry returns the same job (200); the same key with a different body is 409. ' +
            'With `initFrom` the parent job must be this tenant\'s (404 otherwise) and its checkpoint is copied for the new job at submission.',
          tags: ['jobs'],
          body: JobSpecSchema,
          headers: IdempotencyHeaders,
          response: { 200: JobSchema, 201: JobSchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema, ...errors },
        },
      },
      async (request, reply) => {
        const tenant = request.tenant;
        const spec = request.body;
        const hash = bodyHash(spec);
        const rawKey = request.headers['idempotency-key'];
        const key = rawKey === undefined ? null : idemKey(rawKey);
        if (key !== null) {
          const prior = await s.redis.get(s.keys.idempotency(tenant, key));
          if (prior !== null) {
            const [jobId = '', priorHash = ''] = prior.split(' ');
            const job = await replay(tenant, key, jobId, priorHash, hash);
            if (job !== null) return reply.code(200).send(await withPosition(job));
          }
        }
        // Another tenant's or an unknown parent is not found, as any of its ids would be.
        if (spec.initFrom !== undefined && (await getJob(s, spec.initFrom.job, tenant)) === null) {
          throw new ApiError('not_found', `initFrom.job: job ${spec.initFrom.job} not found`, { path: 'initFrom.job' });
        }
        const checked = await checkSubmittedSpec(s, tenant, spec);
        if (checked.issues.length > 0) throw issuesError('invalid_spec', checked.issues);
        const resolved = resolveSpec(spec);
        await admitJobStorage(s, tenant, resolved);
        const id = newJobId();
        // Fine-tuning: the parent's checkpoint is pinned (copied, verified, charged) before the job exists.
        const parent = spec.initFrom === undefined ? null : await pinParentCheckpoint(s, tenant, id, spec, spec.initFrom, checked.features ?? 0);
        if (parent !== null) resolved.initFrom = parent;
        const res = await createJob(s, {
          id,
          tenant,
          spec: resolved,
          priority: resolved.priority,
          datasetId: checked.datasetId,
          bodyHash: hash,
          idempotencyKey: key,
          memoryEstimate: checked.memoryEstimate,
          initFrom: parent === null ? null : { job: parent.job, epoch: parent.checkpoint, sha256: parent.sha256 },
        });
        if (res.kind !== 'created' && parent !== null) await dropInitCheckpoint(s, tenant, id);
        if (res.kind === 'limit') {
          throw new ApiError('too_many_queued_jobs', `this tenant already has ${s.config.limits.queuedJobsPerTenant} queued jobs; wait for some to start or cancel some`, {
            limit: s.config.limits.queuedJobsPerTenant,
          });
        }
        if (res.kind === 'exists') {
          const job = await replay(tenant, key ?? '', res.jobId, res.bodyHash, hash);
          if (job === null) throw new ApiError('unavailable', 'the earlier job for this Idempotency-Key expired; retry');
          return reply.code(200).send(await withPosition(job));
        }
        try {
          const data = checked.memoryEstimate === null ? { jobId: id, tenant } : { jobId: id, tenant, memoryBytes: checked.memoryEstimate.bytes };
          await enqueueTrainJob(queue(), s.config, data, resolved.priority);
        } catch (err) {
          request.log.error({ err, jobId: id }, 'enqueue failed');
          await transitionJob(s, id, 'failed', { reason: 'error: could not enqueue', error: 'could not enqueue' }).catch(() => undefined);
          // A retry with the same Idempotency-Key should submit afresh, not replay this failure.
          if (key !== null) await forgetIdempotencyKey(s, tenant, key).catch(() => undefined);
          throw new ApiError('unavailable', 'the job queue is unavailable; retry shortly', { requestId: request.id });
        }
        request.log.info({ jobId: id, tenant, attempt: 0, status: 'queued' }, 'job submitted');
        return reply.code(201).header('Location', `/v1/jobs/${id}`).send(await withPosition(res.job));
      },
    );

    app.get(
      '/v1/jobs',
      {
        schema: {
          summary: 'List jobs, newest first',
          tags: ['jobs'],
          querystring: JobListQuery,
          response: { 200: JobListSchema, ...errors },
        },
      },
      async (request) => {
        const page = await listJobs(s, request.tenant, request.query);
        return { items: page.items.map(presentJobSummary), nextCursor: page.nextCursor };
      },
    );

    app.get(
      '/v1/jobs/:id',
      { schema: { summary: 'Get a job', tags: ['jobs'], params: JobIdParams, response: { 200: JobSchema, ...errors } } },
      async (request) => {
        const job = await getJob(s, request.params.id, request.tenant);
        if (job === null) throw notFound('job');
        return withPosition(job);
      },
    );

    app.post(
      '/v1/jobs/:id/cancel',
      {
        schema: {
          summary: 'Cancel a job',
          description: 'A queued job is cancelled at once; a running one stops within one mini-batch. 409 when the job has already finished.',
          tags: ['jobs'],
          params: JobIdParams,
          response: { 202: JobSchema, 409: ErrorBodySchema, ...errors },
        },
      },
      async (request, reply) => {
        const id = request.params.id;
        const job = await getJob(s, id, request.tenant);
        if (job === null) throw notFound('job');
        if (isTerminal(job.status)) throw new ApiError('job_finished', `the job has already ${job.status}`, { status: job.status });
        // The flag first: whichever worker holds (or is about to take) the job sees it.
        await requestCancel(s, id);
        if (job.status === 'queued') {
          const t = await transitionJob(s, id, 'cancelled', { from: ['queued'], reason: 'cancelled_by_user' });
          if (t.ok) {
            await removeQueuedJob(queue(), id);
            request.log.info({ jobId: id, status: 'cancelled' }, 'queued job cancelled');
          }
        } else {
          request.log.info({ jobId: id }, 'cancel requested');
        }
        const now = await getJob(s, id, request.tenant);
        return reply.code(202).send(await withPosition(now ?? job));
      },
    );
  };
}
