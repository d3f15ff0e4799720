// Evaluations: POST /v1/jobs/:id/evaluate queues the scoring of a checkpoint on a dataset (a
// worker runs it, never this event loop) and answers 202, or 200 with the result when it finished
// within ?wait seconds; GET /v1/evaluations/:id polls it until the record expires.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { builtinInfo, isBuiltinName } from '../../data/index.js';
import { enqueueEvaluation } from '../../queue/evaluation-queue.js';
import { getCheckpoint } from '../../store/checkpoints.js';
import { checkpointKey } from '../../store/object-keys.js';
import { getDatasetMeta } from '../../store/datasets.js';
import { createEvaluation, getEvaluation, isFinished, updateEvaluation, type EvaluationRecord } from '../../store/evaluations.js';
import { newEvaluationId } from '../../store/ids.js';
import { readStoredCheckpointMetadata } from '../../store/init-checkpoint.js';
import { getJob } from '../../store/jobs.js';
import type { RouteContext } from '../context.js';
import { ApiError, ErrorBodySchema, notFound } from '../errors.js';
import { EvaluateBodySchema, EvaluateQuery, EvaluationIdParams, EvaluationSchema } from '../evaluation-schemas.js';
import { datasetMisfit, scoredModelOf } from '../evaluation-fit.js';
import { JobIdParams } from '../schemas.js';

/** Polling the record while a request waits: quick at first (small evaluations), then gentler. */
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 250;

function present(r: EvaluationRecord) {
  return {
    id: r.id,
    jobId: r.jobId,
    dataset: r.dataset,
    checkpoint: r.checkpoint,
    status: r.status,
    error: r.error,
    result: r.result,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    expiresAt: r.expiresAt,
  };
}

function datasetRefused(message: string): ApiError {
  return new ApiError('invalid_request', `dataset: ${message}`, { path: 'dataset', issues: [{ path: 'dataset', message, in: 'body' }] });
}

export function evaluationRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;
  const queue = () => {
    if (ctx.evaluations === null) throw new ApiError('unavailable', 'this app instance has no evaluation queue');
    return ctx.evaluations;
  };

  /** The record once finished, or the latest seen when `seconds` run out or the client leaves. */
  async function waitFor(record: EvaluationRecord, seconds: number, gone: () => boolean): Promise<EvaluationRecord> {
    const deadline = Date.now() + seconds * 1000;
    let current = record;
    let delay = FIRST_POLL_MS;
    while (!isFinished(current.status) && Date.now() < deadline && !gone()) {
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(MAX_POLL_MS, delay * 2);
      current = (await getEvaluation(s, record.id)) ?? current;
    }
    return current;
  }

  return async (app) => {
    app.post(
      '/v1/jobs/:id/evaluate',
      {
        schema: {
          summary: "Evaluate a job's checkpoint on a dataset",
          description:
            'Scores the checkpoint ("best" by default) on every row of the dataset: loss, accuracy, per-class precision/recall/F1 and the confusion matrix for classifiers; MAE, RMSE and R² for regressors. ' +
            'Runs in a worker; answers 202 with the queued evaluation (poll GET /v1/evaluations/{id}), or 200 when it finished within `wait` seconds. ' +
            'The dataset must have the model\'s input width and fitting targets (400 naming `dataset`), at most MAX_EPOCH_ROWS rows; 429 past MAX_PENDING_EVALUATIONS_PER_TENANT.',
          tags: ['jobs'],
          params: JobIdParams,
          querystring: EvaluateQuery,
          body: EvaluateBodySchema,
          response: { 200: EvaluationSchema, 202: EvaluationSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema },
        },
      },
      async (request, reply) => {
        const tenant = request.tenant;
        const jobId = request.params.id;
        const { dataset, checkpoint } = request.body;
        if ((await getJob(s, jobId, tenant)) === null) throw notFound('job');
        const meta = await getCheckpoint(s, jobId, checkpoint);
        if (meta === null) {
          if (checkpoint === 'best') throw new ApiError('no_checkpoint', 'the job has no checkpoint yet: evaluate works once its first best checkpoint is written');
          throw new ApiError('not_found', `checkpoint for epoch ${checkpoint} not found`, { path: 'checkpoint' });
        }
        // The header alone (ranged reads): the model's description, not the whole file.
        const metadata = await readStoredCheckpointMetadata(s, checkpointKey(jobId, meta.epoch));
        if (metadata === null) throw new ApiError('no_checkpoint', 'the checkpoint was replaced while it was being read; retry');
        const model = scoredModelOf(metadata);
        if (model === null) throw new ApiError('invalid_request', `the checkpoint of epoch ${meta.epoch} does not describe its model (written by another version)`, { path: 'checkpoint' });
        const info =
          typeof dataset === 'string' ? await getDatasetMeta(s, dataset, tenant) : isBuiltinName(dataset.builtin) ? builtinInfo(dataset.builtin) : null;
        if (info === null) throw new ApiError('not_found', `dataset ${typeof dataset === 'string' ? dataset : dataset.builtin} not found`, { path: 'dataset' });
        const misfit = datasetMisfit(model, info, s.config.limits.epochRows);
        if (misfit !== null) throw datasetRefused(misfit);

        const created = await createEvaluation(s, {
          id: newEvaluationId(),
          tenant,
          jobId,
          dataset,
          checkpoint: { epoch: meta.epoch, sha256: meta.sha256 },
          status: 'queued',
          error: null,
          result: null,
          createdAt: new Date().toISOString(),
          startedAt: null,
          finishedAt: null,
        });
        if (created === null) {
          const limit = s.config.evaluations.pendingPerTenant;
          throw new ApiError('too_many_pending_evaluations', `this tenant already has ${limit} evaluations queued or running (MAX_PENDING_EVALUATIONS_PER_TENANT); wait for some to finish`, { limit, retryAfterSeconds: 5 });
        }
        try {
          await enqueueEvaluation(queue(), s.config, created.id);
        } catch (err) {
          request.log.error({ err, evaluationId: created.id }, 'enqueue failed');
          await updateEvaluation(s, { ...created, status: 'failed', error: 'could not enqueue', finishedAt: new Date().toISOString() }).catch(() => undefined);
          throw new ApiError('unavailable', 'the evaluation queue is unavailable; retry shortly', { requestId: request.id });
        }
        // The request itself is read (and so destroyed) by now: the socket says whether the client is still there.
        const now = await waitFor(created, request.query.wait, () => reply.raw.destroyed || request.raw.socket.destroyed);
        if (isFinished(now.status)) return reply.code(200).send(present(now));
        return reply.code(202).header('Location', `/v1/evaluations/${now.id}`).send(present(now));
      },
    );

    app.get(
      '/v1/evaluations/:id',
      {
        schema: {
          summary: 'Get an evaluation',
          description: 'Its status, and its result once completed. 404 after it expired (EVALUATION_TTL_SECONDS after its last change).',
          tags: ['jobs'],
          params: EvaluationIdParams,
          response: { 200: EvaluationSchema, 400: ErrorBodySchema, 404: ErrorBodySchema },
        },
      },
      async (request) => {
        const r = await getEvaluation(s, request.params.id, request.tenant);
        if (r === null) throw notFound('evaluation');
        return present(r);
      },
    );
  };
}
