// POST /v1/jobs/:id/predict: {"inputs": number[][]} → {"outputs": [...]} from the best checkpoint.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getJob } from '../../store/jobs.js';
import type { RouteContext } from '../context.js';
import { ErrorBodySchema, notFound } from '../errors.js';
import { predictRows } from '../predictor.js';
import { JobIdParams, PredictBodySchema, PredictResponseSchema } from '../schemas.js';

export function predictRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/v1/jobs/:id/predict',
      {
        // Batches of image rows outgrow the job-spec body limit: predict takes the upload limit.
        bodyLimit: ctx.config.limits.bodyBytes,
        schema: {
          summary: "Predict with a job's best checkpoint",
          description:
            'Classifiers answer {"probabilities": number[], "label": k} per row, regressors {"value": number[]}. ' +
            'Rows must have the model\'s input width; inputs are used as given (the checkpoint applies its own standardization).',
          tags: ['jobs'],
          params: JobIdParams,
          body: PredictBodySchema,
          response: { 200: PredictResponseSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 500: ErrorBodySchema },
        },
      },
      async (request) => {
        if ((await getJob(ctx.store, request.params.id, request.tenant)) === null) throw notFound('job');
        return predictRows(ctx.store, request.params.id, request.body.inputs);
      },
    );
  };
}
