// One evaluation's CPU work, run in a thread of its own (workers/evaluation-thread.ts): check the
// stored checkpoint against its recorded size and sha256, load it and the dataset, and score.
import { createHash } from 'node:crypto';
import { createStorage } from '../src/storage/create-storage.js';
import type { StorageSettings } from '../src/storage/storage.js';
import { CoreError, evaluateCheckpoint, loadCheckpoint, selectKernels, type Evaluation } from '../src/core/node.js';
import { builtinDataset, decodeDataset, isBuiltinName } from '../src/data/index.js';
import type { Dataset } from '../src/core/types.js';
import { isAllocationFailure } from '../src/allocation-failure.js';

export interface EvaluationTask {
  /** Where the objects below are (the thread makes its own driver). */
  storage: StorageSettings;
  checkpoint: { key: string; jobId: string; epoch: number; size: number; sha256: string };
  dataset: { key: string } | { builtin: string };
}

/** Why an evaluation failed: `input` is the request's (a dataset that does not fit), `corrupt` our stored data's. */
export type EvaluationFailure = { kind: 'input' | 'corrupt' | 'internal'; message: string };

export type EvaluationOutcome = { ok: true; result: Evaluation } | { ok: false; failure: EvaluationFailure };

/** A buffer that could not be allocated, in the words of an evaluation's error; null for other errors. */
function outOfMemory(err: unknown, what: string): EvaluationFailure | null {
  return isAllocationFailure(err) ? { kind: 'internal', message: `the evaluation ran out of memory: ${what} could not be allocated (${(err as Error).message})` } : null;
}

async function readCheckpoint(storage: StorageSettings, c: EvaluationTask['checkpoint']): Promise<Uint8Array | EvaluationFailure> {
  const what = `the stored checkpoint of ${c.jobId} for epoch ${c.epoch}`;
  let bytes: Buffer | null;
  try {
    bytes = await createStorage(storage).get(c.key);
  } catch (err) {
    return outOfMemory(err, 'the checkpoint\'s bytes') ?? { kind: 'corrupt', message: `${what} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  if (bytes === null) return { kind: 'corrupt', message: `${what} cannot be read: ENOENT` };
  if (bytes.byteLength !== c.size) return { kind: 'corrupt', message: `${what} is corrupt: ${bytes.byteLength} bytes on disk, ${c.size} recorded` };
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== c.sha256) return { kind: 'corrupt', message: `${what} is corrupt: sha256 ${sha256} on disk, ${c.sha256} recorded` };
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function readDataset(storage: StorageSettings, d: EvaluationTask['dataset']): Promise<Dataset | EvaluationFailure> {
  if ('builtin' in d) {
    if (!isBuiltinName(d.builtin)) return { kind: 'input', message: `dataset: unknown built-in dataset "${d.builtin}"` };
    return builtinDataset(d.builtin).dataset;
  }
  try {
    const bytes = await createStorage(storage).get(d.key);
    if (bytes === null) return { kind: 'corrupt', message: 'the dataset file cannot be read: it is missing' };
    return decodeDataset(bytes).dataset;
  } catch (err) {
    return outOfMemory(err, 'the dataset') ?? { kind: 'corrupt', message: `the dataset file cannot be read: ${(err as Error).message}` };
  }
}

export async function runEvaluation(task: EvaluationTask): Promise<EvaluationOutcome> {
  const bytes = await readCheckpoint(task.storage, task.checkpoint);
  if (!(bytes instanceof Uint8Array)) return { ok: false, failure: bytes };
  const data = await readDataset(task.storage, task.dataset);
  if ('kind' in data) return { ok: false, failure: data };
  try {
    // The fastest backend that loads here (native or WebAssembly), on this one thread, as predict does.
    return { ok: true, result: evaluateCheckpoint(loadCheckpoint(bytes, selectKernels({ threads: 1 })), data) };
  } catch (err) {
    if ((err as Error).name === 'SafetensorsError') return { ok: false, failure: { kind: 'corrupt', message: `the checkpoint file is malformed: ${(err as Error).message}` } };
    if (err instanceof CoreError) return { ok: false, failure: { kind: err.path === 'checkpoint' ? 'corrupt' : 'input', message: `${err.path}: ${err.message}` } };
    return { ok: false, failure: outOfMemory(err, 'a buffer of the model') ?? { kind: 'internal', message: (err as Error).message } };
  }
}
