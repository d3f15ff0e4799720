// Child process for the memory line of the benchmark: loads Fashion-MNIST, trains MLP
// 784-256-128-10 at batch 1024 for one epoch on the selected backend, prints its peak RSS as JSON.
import { selectKernels } from '../src/core/kernels/select.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { learningRateFor, trainMlp } from './mlp.js';

const threads = Number(process.argv[2] ?? '1');
const data = loadFashionMnist();
const afterLoadKiB = process.resourceUsage().maxRSS;
const kernels = selectKernels({ threads });
const result = await trainMlp({ hidden: [256, 128], batchSize: 1024, epochs: 1, learningRate: learningRateFor(1024), seed: 1 }, { train: data.train, test: null }, kernels);
process.stdout.write(
  `${JSON.stringify({ backend: result.backend, threads, peakRssMiB: process.resourceUsage().maxRSS / 1024, afterLoadRssMiB: afterLoadKiB / 1024 })}\n`,
);
