// Entry of an evaluation thread: runs one task (workers/evaluation-task.ts) and posts its outcome.
// Compiled JS only: worker threads cannot load TypeScript.
import { parentPort, workerData } from 'node:worker_threads';
import { runEvaluation, type EvaluationTask } from './evaluation-task.js';

const port = parentPort;
if (port === null) throw new Error('evaluation thread started outside a worker thread');
port.postMessage(await runEvaluation(workerData as EvaluationTask));
