// A job's within-epoch progress travels by pub/sub, one channel per job: trainers publish (cheap,
// and a no-op for Redis when nobody listens), API processes subscribe only to the jobs their SSE
// clients follow. Nothing is stored: a client that was not listening simply missed it.
import type { Store } from './redis.js';

/** The `progress` event's data, as the core's onProgress gives it. */
export interface ProgressMessage {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number | null;
  samplesPerSec: number;
  eta: number;
}

/**
 * Fire and forget: progress is best-effort, and a Redis away now must not queue it up for later.
 * A loss that is not finite goes out as null (JSON has no NaN).
 */
export function publishProgress(s: Store, jobId: string, p: Omit<ProgressMessage, 'loss'> & { loss: number }): void {
  if (s.redis.status !== 'ready') return;
  const message: ProgressMessage = {
    epoch: p.epoch,
    step: p.step,
    stepsPerEpoch: p.stepsPerEpoch,
    loss: Number.isFinite(p.loss) ? p.loss : null,
    samplesPerSec: p.samplesPerSec,
    eta: p.eta,
  };
  s.redis.publish(s.keys.progressChannel(jobId), JSON.stringify(message)).catch(() => undefined);
}

/** Parses a published message; null when it is not one (another version's trainer, a stray publish). */
export function parseProgress(message: string): ProgressMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(message);
  } catch {
    return null;
  }
  const p = v as Partial<ProgressMessage> | null;
  const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (p === null || typeof p !== 'object' || !num(p.epoch) || !num(p.step) || !num(p.stepsPerEpoch) || !num(p.samplesPerSec) || !num(p.eta)) return null;
  if (p.loss !== null && !num(p.loss)) return null;
  return { epoch: p.epoch!, step: p.step!, stepsPerEpoch: p.stepsPerEpoch!, loss: p.loss ?? null, samplesPerSec: p.samplesPerSec!, eta: p.eta! };
}
