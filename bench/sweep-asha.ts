// ASHA against running every trial to completion, on Fashion-MNIST through a running traind:
// the same sweep (space, seed, so the same trials in the same order) submitted twice, once with
// earlyTermination asha and once with none, one after the other. Prints, for each, the best
// objective (val_loss) and the best trial's val_accuracy, the total epochs trained, the pruned
// trials and the wall time; and where ASHA's best trial ranks in the full run.
// Usage: start a server (`npm start`), then `npm run build && node dist/bench/sweep-asha.js`
// [--trials N] [--epochs N] [--rows N] [--json]. TRAIND_URL / TRAIND_API_KEY as for the CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTraindClient, type Sweep, type SweepSpec } from '../src/client/index.js';
import { FASHION_MNIST_DIR } from './fashion-mnist.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const TRIALS = flag('--trials', 27);
const EPOCHS = flag('--epochs', 9);
const json = args.includes('--json');
const client = createTraindClient({
  baseUrl: process.env.TRAIND_URL ?? 'http://127.0.0.1:3000',
  ...(process.env.TRAIND_API_KEY ? { apiKey: process.env.TRAIND_API_KEY } : {}),
});

function note(message: string): void {
  process.stderr.write(`# ${message}\n`);
}

function sweepRequest(datasetId: string, asha: boolean): SweepSpec {
  return {
    name: asha ? 'fashion-asha' : 'fashion-full',
    base: {
      dataset: datasetId,
      validation: { fraction: 0.1 },
      model: { layers: [{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10 }] },
      loss: 'softmax_cross_entropy',
      epochs: EPOCHS,
      seed: 1,
    },
    space: {
      learningRate: { loguniform: [1e-4, 0.3] },
      'model.layers.0.units': { choice: [16, 32, 64, 128, 256] },
      'optimizer.type': { choice: ['sgd', 'adam'] },
      batchSize: { choice: [32, 64, 128, 256] },
    },
    maxTrials: TRIALS,
    parallelism: 4,
    objective: { metric: 'val_loss', mode: 'min' },
    earlyTermination: asha ? { type: 'asha', gracePeriod: 1, reductionFactor: 3 } : { type: 'none' },
    seed: 7,
  };
}

async function run(datasetId: string, asha: boolean): Promise<{ sweep: Sweep; seconds: number }> {
  const t0 = Date.now();
  const submitted = await client.submitSweep(sweepRequest(datasetId, asha));
  note(`${submitted.id} (${asha ? 'asha' : 'run to completion'}) submitted`);
  const sweep = await client.waitForSweep(submitted.id, { intervalMs: 2000 });
  return { sweep, seconds: (Date.now() - t0) / 1000 };
}

async function bestAccuracy(sweep: Sweep): Promise<number | null> {
  if (sweep.best?.jobId == null) return null;
  const job = await client.getJob(sweep.best.jobId);
  return job.best?.val_accuracy ?? null;
}

const images = readFileSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
const labels = readFileSync(join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));
const ds = await client.uploadIdx(images, labels, { name: 'fashion-train' });
note(`uploaded Fashion-MNIST training set as ${ds.id} (${ds.rows} rows; 10% held out for validation)`);

const results = [];
for (const asha of [true, false]) {
  const { sweep, seconds } = await run(ds.id, asha);
  results.push({ asha, sweep, seconds, accuracy: await bestAccuracy(sweep) });
}
const [a, full] = results as [(typeof results)[0], (typeof results)[0]];
// Where ASHA's best trial (same proposal number) ranks when every trial runs to the end.
const fullRank = full.sweep.leaderboard.findIndex((t) => t.trial === a.sweep.best?.trial) + 1;
for (const r of results) {
  const record = {
    mode: r.asha ? 'asha' : 'none',
    sweep: r.sweep.id,
    trials: r.sweep.leaderboard.length,
    pruned: r.sweep.counts.pruned,
    failed: r.sweep.counts.failed,
    totalEpochs: r.sweep.totalEpochs,
    bestTrial: r.sweep.best?.trial ?? null,
    bestValLoss: r.sweep.best?.objective ?? null,
    bestValAccuracy: r.accuracy,
    bestParams: r.sweep.best?.params ?? null,
    seconds: Math.round(r.seconds),
  };
  process.stdout.write(
    json
      ? `${JSON.stringify(record)}\n`
      : `${record.mode.padEnd(5)} trials ${record.trials}, pruned ${record.pruned}, failed ${record.failed}, epochs ${record.totalEpochs}, best trial #${record.bestTrial}: val_loss ${record.bestValLoss?.toFixed(4)}, val_accuracy ${record.bestValAccuracy?.toFixed(4)} ${JSON.stringify(record.bestParams)}, ${record.seconds} s\n`,
  );
}
const ratio = a.sweep.totalEpochs / full.sweep.totalEpochs;
const margin = (a.sweep.best?.objective ?? NaN) - (full.sweep.best?.objective ?? NaN);
process.stdout.write(
  json
    ? `${JSON.stringify({ epochsRatio: ratio, valLossMargin: margin, ashaBestRankInFullRun: fullRank })}\n`
    : `ASHA: ${(ratio * 100).toFixed(0)}% of the epochs, best val_loss ${margin >= 0 ? '+' : ''}${margin.toFixed(4)} against the full run's best; its best trial ranks #${fullRank} of ${full.sweep.leaderboard.length} when run to completion\n`,
);
