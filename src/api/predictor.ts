// Inference from a job's best checkpoint, run in a CPU thread (cpu/predict-task.ts: verification
// against the recorded size and sha256, the model cache, the cost bound, inference). This side
// reads the index, and tells a checkpoint evicted meanwhile (try the new best) from a lost file.
import { getCheckpoint } from '../store/checkpoints.js';
import { checkpointKey } from '../store/object-keys.js';
import { CheckpointCorruptError } from '../store/verified-checkpoint.js';
import type { RouteContext } from './context.js';
import { CheckpointMissing, type PredictBody, type PredictFormat } from './cpu/protocol.js';
import { ApiError } from './errors.js';

/** The response body (JSON) for the request body (spooled, or in memory), holding rows as `format` says. */
export async function predictFromBest(ctx: RouteContext, jobId: string, body: PredictBody, format: PredictFormat): Promise<Uint8Array> {
  const s = ctx.store;
  // A second try covers a best checkpoint evicted between reading the index and opening its file.
  for (let attempt = 1; ; attempt++) {
    const meta = await getCheckpoint(s, jobId, 'best');
    if (meta === null) throw new ApiError('no_checkpoint', 'the job has no checkpoint yet: predict works once its first best checkpoint is written');
    try {
      // Bytes are copied to the thread, not transferred: a second attempt sends them again.
      const result = await ctx.cpu.predict({
        kind: 'predict',
        jobId,
        checkpoint: { key: checkpointKey(jobId, meta.epoch), epoch: meta.epoch, size: meta.size, sha256: meta.sha256 },
        body,
        format,
        maxRows: s.config.limits.predictRows,
        maxCost: s.config.limits.predictCost,
        maxUncompressed: s.config.limits.uncompressedBytes,
      });
      return result.body;
    } catch (err) {
      if (!(err instanceof CheckpointMissing)) throw err;
      const now = await getCheckpoint(s, jobId, meta.epoch);
      if (now !== null && now.sha256 === meta.sha256) throw new CheckpointCorruptError(jobId, meta.epoch, 'the file is missing');
      if (attempt >= 2) throw new ApiError('no_checkpoint', 'the best checkpoint was replaced while it was being read; retry');
    }
  }
}
