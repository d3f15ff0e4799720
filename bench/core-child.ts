// The core side of the bench's service-vs-core comparison (bench/service.ts): a process started as
// a trainer is (the same Node flags, the service's environment, its Redis connections and cancel
// subscriber open), which loads a finished job's inputs the way a trainer does (the stored dataset
// file, the spec's TrainConfig and checkpoint metadata) and trains them with the core alone: no
// hooks that write anything, so no store writes, no progress events, no cancel check between
// mini-batches (but the same checkpoint and resume-state bytes built each epoch, and dropped).
// Usage: fork with argv [jobId, threads]; it sends one CoreRunResult over IPC and exits.

import { train } from '../src/core/index.js';
import { getJob } from '../src/store/jobs.js';
import { trainingKernels } from '../workers/backend.js';
import { trainerContext } from '../workers/context.js';
import { loadJobInputs } from '../workers/inputs.js';
import { startTrainingClock, type TrainingTime } from '../workers/training-clock.js';

export interface CoreRunResult extends TrainingTime {
  /** Training samples/s of each epoch, as a job's metrics records report them. */
  epochSamplesPerSec: number[];
  backend: string;
  threads: number;
}

const [jobId = '', threadsArg = '1'] = process.argv.slice(2);
const ctx = await trainerContext();
// A trainer makes its one-thread kernels at start-up, then the job's.
trainingKernels();
const kernels = trainingKernels(Number(threadsArg));
const record = await getJob(ctx.store, jobId);
if (record === null) throw new Error(`job ${jobId} not found`);
const inputs = await loadJobInputs(ctx.store, record);

const epochSamplesPerSec: number[] = [];
const clock = startTrainingClock();
await train(
  inputs.config,
  { train: inputs.train, validation: inputs.validation },
  {
    onEpoch: (m) => void epochSamplesPerSec.push(m.samplesPerSec),
    // Hooks that drop what they are given, so the core serializes each epoch's resume state as the
    // trainer's does: it builds those bytes only for an onLatest hook.
    onBest: () => undefined,
    onLatest: () => undefined,
  },
  { kernels, metadata: inputs.checkpointMetadata, initial: inputs.initial },
);
const result: CoreRunResult = { ...clock.read(), epochSamplesPerSec, backend: kernels.name, threads: kernels.threads };
process.send?.(result, () => process.exit(0));
