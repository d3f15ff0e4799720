// The entry of a CPU thread (see cpu-pool.ts): runs one task at a time and answers with its
// result or its error as plain data. Compiled JS only: worker threads cannot load TypeScript.
import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { isAllocationFailure } from '../../allocation-failure.js';
import { DataError } from '../../data/index.js';
import { StorageUnavailableError } from '../../storage/storage-unavailable.js';
import { StorageFullError } from '../../store/storage-full.js';
import { CheckpointCorruptError } from '../../store/verified-checkpoint.js';
import { ApiError } from '../errors.js';
import { runOnnxExport } from './onnx-task.js';
import { runPredict } from './predict-task.js';
import { CheckpointMissing, type TaskError, type ThreadReply, type ThreadRequest } from './protocol.js';
import { runUpload } from './upload-task.js';

function describe(err: unknown): TaskError {
  if (err instanceof ApiError) return { kind: 'api', code: err.code, message: err.message, details: err.details };
  if (err instanceof DataError) return { kind: 'data', code: err.code, path: err.path, message: err.message };
  if (err instanceof CheckpointCorruptError) return { kind: 'corrupt', jobId: err.jobId, epoch: err.epoch, reason: err.reason };
  if (err instanceof CheckpointMissing) return { kind: 'checkpoint_missing' };
  if (err instanceof StorageFullError) return { kind: 'storage_full', code: err.code, file: err.file, bytes: err.bytes };
  if (err instanceof StorageUnavailableError) return { kind: 'storage_unavailable', operation: err.operation, reason: err.reason };
  if (isAllocationFailure(err)) return { kind: 'out_of_memory', message: `a buffer could not be allocated: ${(err as Error).message}` };
  const e = err instanceof Error ? err : new Error(String(err));
  return e.stack === undefined ? { kind: 'internal', message: e.message } : { kind: 'internal', message: e.message, stack: e.stack };
}

/**
 * The thread's nice value. On Linux it is per thread: the event loop keeps priority over this
 * thread when they compete for a core (CFS weights 1024 : 110), so long parses and predicts cost
 * the event loop little; on an idle core the thread still runs at full speed.
 */
const NICE = 10;
try {
  os.setPriority(NICE);
} catch {
  // Not permitted here (some containers): the thread runs at the process's priority.
}

const port = parentPort;
if (port === null) throw new Error('cpu thread started outside a worker thread');
// The pool sends a thread its next task only after the answer to the last one: one at a time.
port.on('message', ({ id, task }: ThreadRequest) => void answer(id, task));

async function answer(id: number, task: ThreadRequest['task']): Promise<void> {
  let reply: ThreadReply;
  const transfer: ArrayBuffer[] = [];
  try {
    if (task.kind === 'upload') {
      reply = { id, ok: true, result: await runUpload(task) };
    } else if (task.kind === 'onnx') {
      const result = await runOnnxExport(task);
      transfer.push(result.body.buffer as ArrayBuffer);
      reply = { id, ok: true, result };
    } else {
      const result = await runPredict(task);
      transfer.push(result.body.buffer as ArrayBuffer);
      reply = { id, ok: true, result };
    }
  } catch (err) {
    reply = { id, ok: false, error: describe(err) };
  }
  port?.postMessage(reply, transfer);
}
