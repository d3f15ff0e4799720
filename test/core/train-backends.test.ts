import { describe, expect, it } from 'vitest';
import { loadCheckpoint, predict } from '../../src/core/checkpoint.js';
import { splitHoldout } from '../../src/core/data.js';
import { scorePredictions } from '../../src/core/metrics.js';
import { train, type BestCheckpointEvent } from '../../src/core/train.js';
import type { EpochMetrics } from '../../src/core/types.js';
import { forEachBackend } from './backends.js';
import { config, dense, dropout, spirals, timeless } from './train-helpers.js';

// The service trains with the fastest backend here and must still get the core's promises:
// determinism, exact resume, and a best checkpoint whose predictions reproduce its score.
describe.each(forEachBackend().map((k) => [`${k.name}×${k.threads}`, k] as const))('train on %s', (_name, kernels) => {
  const data = splitHoldout(spirals(150, 0.1), 0.3, 2);
  // Validation (90 rows) is scored in chunks of 90; predict uses chunks of 256 and single rows.
  const cfg = config({ layers: [dense(24, 'relu'), dropout(0.1), dense(2)], epochs: 6, batchSize: 20, checkpoints: { keepBest: 1, monitor: 'val_accuracy', mode: 'auto' } });

  async function run(resume: Uint8Array | null = null, stopAfter: number | null = null) {
    const epochs: EpochMetrics[] = [];
    const best: BestCheckpointEvent[] = [];
    const latest = new Map<number, Uint8Array>();
    const result = await train(cfg, data, {
      onEpoch: (m) => void epochs.push(m),
      onBest: (b) => void best.push(b),
      onLatest: (l) => void latest.set(l.epoch, l.bytes),
      shouldStop: () => stopAfter !== null && latest.has(stopAfter),
    }, { kernels, resume });
    return { result, epochs, best, latest };
  }

  it('is deterministic, resumes exactly and reports its backend', async () => {
    const a = await run();
    const b = await run();
    expect(a.result.backend).toBe(kernels.name);
    expect(b.epochs.map(timeless)).toEqual(a.epochs.map(timeless));
    expect(b.result.checkpoint).toEqual(a.result.checkpoint);
    const first = await run(null, 3);
    const rest = await run(first.latest.get(3)!);
    expect(rest.epochs.map(timeless)).toEqual(a.epochs.slice(3).map(timeless));
    expect(rest.result.checkpoint).toEqual(a.result.checkpoint);
  });

  it('best checkpoint predictions reproduce its val_accuracy exactly, in any chunking', async () => {
    const { best } = await run();
    const top = best.at(-1)!;
    const ckpt = loadCheckpoint(top.bytes, kernels);
    const v = data.validation;
    const all = predict(ckpt, v.x, v.n).outputs;
    expect(scorePredictions(cfg.loss, all, v.y, v.n, 2, 1).accuracy).toBe(top.value);
    for (const r of [0, 1, v.n - 1]) expect(predict(ckpt, v.x.subarray(2 * r, 2 * r + 2), 1).outputs).toEqual(all.subarray(2 * r, 2 * r + 2));
  });
});
