// The within-epoch progress hook: throttled by the caller's clock, its figures agree with the
// epoch's own record, and listening changes nothing that training produces.
import { describe, expect, it } from 'vitest';
import type { StepProgress } from '../../src/core/progress.js';
import { train } from '../../src/core/train.js';
import type { EpochMetrics } from '../../src/core/types.js';
import { config, spirals, timeless } from './train-helpers.js';

/** A clock that moves `stepMs` every time it is read: training time is then known exactly. */
function steppingClock(stepMs: number): () => number {
  let t = 0;
  return () => (t += stepMs);
}

describe('train: onProgress', () => {
  it('is called at most once per progressIntervalMs of the injected clock, with the epoch, step, running loss, rate and ETA', async () => {
    const data = { train: spirals(100), validation: null }; // 200 rows, batch 20: 10 mini-batches an epoch
    const seen: StepProgress[] = [];
    const epochs: EpochMetrics[] = [];
    await train(
      config({ batchSize: 20, epochs: 2 }),
      data,
      { onProgress: (p) => void seen.push(p), onEpoch: (m) => void epochs.push(m) },
      // The clock is read at the start, at each epoch's start and after each mini-batch: 100 ms apart.
      { clock: steppingClock(100), progressIntervalMs: 250 },
    );
    // Every third reading (300 ms ≥ 250 ms) counted from the start; epoch 2's start is a reading too.
    expect(seen.map((p) => [p.epoch, p.step])).toEqual([
      [1, 2], [1, 5], [1, 8],
      [2, 1], [2, 4], [2, 7], [2, 10],
    ]);
    for (const p of seen) {
      expect(p.stepsPerEpoch).toBe(10);
      // step mini-batches of 20 rows in step × 100 ms (the epoch's start read is 100 ms before the first).
      expect(p.samplesPerSec).toBeCloseTo((p.step * 20) / (p.step * 0.1), 6);
      expect(p.eta).toBeCloseTo((10 - p.step) * 0.1, 6);
      expect(Number.isFinite(p.loss) && p.loss > 0).toBe(true);
    }
    // At the last mini-batch the running mean is the epoch's loss.
    expect(seen[6]!.loss).toBeCloseTo(epochs[1]!.loss, 10);
  });

  it('changes no result: same metrics and checkpoint bytes with and without a listener', async () => {
    const data = { train: spirals(60), validation: spirals(20, 0, 7) };
    const cfg = config({ batchSize: 8, epochs: 4, layers: [{ type: 'dense', units: 16, activation: 'relu', init: 'he_uniform', useBias: true, biasInit: 'zeros' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 2, activation: 'linear', init: 'xavier_uniform', useBias: true, biasInit: 'zeros' }] });
    const plain: EpochMetrics[] = [];
    const watched: EpochMetrics[] = [];
    let calls = 0;
    const a = await train(cfg, data, { onEpoch: (m) => void plain.push(m) });
    const b = await train(cfg, data, { onEpoch: (m) => void watched.push(m), onProgress: () => void calls++ }, { progressIntervalMs: 0 });
    expect(calls).toBe(4 * 15); // every mini-batch with no interval: 120 rows / 8
    expect(watched.map(timeless)).toEqual(plain.map(timeless));
    expect(Buffer.compare(Buffer.from(b.checkpoint), Buffer.from(a.checkpoint))).toBe(0);
  });
});
