// Two builds of the native addon against each other in one process: the bench's MLP (784-128-10 on
// Fashion-MNIST, bench/mlp.ts) trained from the same seed with build A and with build B, the two runs
// taking turns epoch by epoch so that a slow spell of the host falls on an epoch of each. Prints
// each build's median samples/s, B ÷ A with the range of the per-epoch ratios, and whether the two
// trained to the same checkpoint bytes (a change meant to keep every bit must).
//
// For changes smaller than this host's run-to-run noise (whole runs moved by 5–20 % here), and
// because a change to one C function can move the code of the others: compare the rebuilt addon
// with the committed one before keeping a change for its speed.
//
//   sh src/core/kernels/native/build.sh /tmp/exp      # build the changed sources elsewhere
//   git stash && npm run build:native && git stash pop # or keep the committed prebuilt as A
//   npx tsx bench/compare-builds.ts --b /tmp/exp [--a DIR|FILE] [--batch 1024] [--threads 1] [--epochs 20]
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { createNativeKernelsFromFile, nativeAddonPath } from '../src/core/kernels/native.js';
import type { Kernels } from '../src/core/kernels/kernels.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { learningRateFor, median, trainMlp } from './mlp.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    batch: { type: 'string', default: '1024' },
    threads: { type: 'string', default: '1' },
    epochs: { type: 'string', default: '20' },
  },
});

/** An addon file, or the traind_kernels.node in a directory. */
function addonFile(path: string): string {
  const file = statSync(path).isDirectory() ? join(path, 'traind_kernels.node') : path;
  if (!existsSync(file)) throw new Error(`no addon at ${file}`);
  return file;
}

if (values.b === undefined) throw new Error('--b (the build to compare) is required');
const committed = nativeAddonPath();
const fileA = addonFile(values.a ?? committed ?? '');
const fileB = addonFile(values.b);
if (fileA === fileB) throw new Error('A and B are the same file');
const threads = Number(values.threads);
const batchSize = Number(values.batch);
const epochs = Number(values.epochs);

/**
 * The turn passed between the two runs: `pass` hands it to the other run and waits for it to come
 * back; `done` hands it over for good (a run that has finished).
 */
function createBaton(firstOther: () => void): { pass: () => Promise<void>; done: () => void } {
  let other: (() => void) | null = firstOther;
  return {
    async pass() {
      const wake = other;
      const back = new Promise<void>((resolve) => (other = resolve));
      wake?.();
      await back;
    },
    done() {
      const wake = other;
      other = null;
      wake?.();
    },
  };
}

const data = loadFashionMnist();
const run = { hidden: [128], batchSize, epochs, learningRate: learningRateFor(batchSize), seed: 1 };

async function trainWith(kernels: Kernels, onEpoch: () => Promise<void>): Promise<{ rates: number[]; accuracy: number; sha256: string }> {
  const r = await trainMlp(run, { train: data.train, test: data.test }, kernels, onEpoch);
  return { rates: r.rates, accuracy: r.testAccuracy, sha256: createHash('sha256').update(r.checkpoint()).digest('hex') };
}

const kernelsA = createNativeKernelsFromFile(fileA, threads);
const kernelsB = createNativeKernelsFromFile(fileB, threads);
let startB!: () => void;
const bMayStart = new Promise<void>((resolve) => (startB = resolve));
const baton = createBaton(startB);
const [a, b] = await Promise.all([
  trainWith(kernelsA, baton.pass).finally(baton.done),
  bMayStart.then(() => trainWith(kernelsB, baton.pass)).finally(baton.done),
]);

// The first epoch of each warms caches and code: left out.
const ratios = b.rates.slice(1).map((r, i) => r / a.rates[i + 1]!);
const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
console.log(`A ${fileA}\nB ${fileB}`);
console.log(`${kernelsA.name}, batch ${batchSize}, ${threads} thread(s), ${epochs} epochs taking turns`);
console.log(`A ${fmt(median(a.rates.slice(1)))} samples/s, B ${fmt(median(b.rates.slice(1)))} samples/s`);
console.log(`B ÷ A ${(median(b.rates.slice(1)) / median(a.rates.slice(1))).toFixed(3)} (per epoch ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}, median ${median(ratios).toFixed(3)})`);
console.log(`test accuracy A ${(a.accuracy * 100).toFixed(2)} %, B ${(b.accuracy * 100).toFixed(2)} %; the same checkpoint bytes: ${a.sha256 === b.sha256 ? 'yes' : 'NO'}`);
