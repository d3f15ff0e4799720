// The API's CPU threads: parsing uploads, running predict and exporting ONNX off the event loop, so /healthz and
// every other request keep answering while they run. API_CPU_THREADS threads take tasks in
// arrival order; admission happens before a request's body is read, and at most
// API_CPU_THREADS + API_CPU_QUEUE uploads, predicts and ONNX exports are in progress (receiving, waiting or
// running): beyond that, 503 with Retry-After.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataError } from '../../data/index.js';
import { StorageUnavailableError } from '../../storage/storage-unavailable.js';
import { StorageFullError } from '../../store/storage-full.js';
import { CheckpointCorruptError } from '../../store/verified-checkpoint.js';
import { ApiError } from '../errors.js';
import type { StorageSettings } from '../../storage/storage.js';
import type { ThreadData } from './thread-storage.js';
import { CheckpointMissing, type CpuResult, type CpuTask, type OnnxResult, type OnnxTask, type PredictResult, type PredictTask, type TaskError, type ThreadReply, type UploadResult, type UploadTask } from './protocol.js';

/** The CPU threads' young generation (V8's default is 16–64 MB depending on the heap). */
const THREAD_YOUNG_GENERATION_MB = 8;

/** How long a refused client is told to wait. */
const RETRY_AFTER_SECONDS = 5;

/** The compiled thread entry next to this file; from source (tests), the build's copy. */
function threadScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'thread.js');
  const built = path.resolve(path.dirname(here), '../../../dist/src/api/cpu/thread.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (worker threads need compiled JS)`);
  return built;
}

/**
 * A task that ran out of memory: its thread reached its V8 heap limit (API_CPU_THREAD_HEAP_MB, or
 * V8's default), or a buffer it needed could not be allocated. Not a bug, and not the client's
 * request as such: 503, so the client may retry when the server is less busy, or send less.
 */
function insufficientMemory(cause: string): ApiError {
  return new ApiError(
    'insufficient_memory',
    `the request needed more memory than the server could give it (${cause}); retry in ${RETRY_AFTER_SECONDS} s, or send a smaller request`,
    { retryAfterSeconds: RETRY_AFTER_SECONDS },
  );
}

function toError(e: TaskError): Error {
  switch (e.kind) {
    case 'api':
      return new ApiError(e.code, e.message, e.details);
    case 'data':
      return new DataError(e.path, e.message, e.code);
    case 'corrupt':
      return new CheckpointCorruptError(e.jobId, e.epoch, e.reason);
    case 'storage_full':
      return new StorageFullError(e.code, e.file, e.bytes);
    case 'storage_unavailable':
      return new StorageUnavailableError(e.operation, e.reason);
    case 'checkpoint_missing':
      return new CheckpointMissing('the checkpoint file is missing');
    case 'out_of_memory':
      return insufficientMemory(e.message);
    case 'internal': {
      const err = new Error(`CPU thread: ${e.message}`);
      if (e.stack !== undefined) err.stack = e.stack;
      return err;
    }
  }
}

interface Pending {
  id: number;
  task: CpuTask;
  resolve: (result: CpuResult) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  current: Pending | null;
}

export class CpuPool {
  private readonly threads: Thread[] = [];
  private readonly waiting: Pending[] = [];
  private admitted = 0;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly queue: number,
    /** Where the threads read checkpoints and write datasets. */
    private readonly storage: StorageSettings,
    /** Each thread's V8 heap limit in MiB (API_CPU_THREAD_HEAP_MB); null = V8's default. */
    private readonly heapMb: number | null = null,
  ) {}

  /** In progress now (admitted and not yet answered). */
  get inProgress(): number {
    return this.admitted;
  }

  /**
   * Admits one upload or predict before its body is read: returns its release (call it once the
   * response is sent or the request is gone; extra calls do nothing), or throws 503.
   */
  admit(): () => void {
    if (this.admitted >= this.size + this.queue) {
      throw new ApiError(
        'unavailable',
        `the API is busy with ${this.admitted} uploads, predicts and ONNX exports (API_CPU_THREADS=${this.size} running + API_CPU_QUEUE=${this.queue} waiting); retry in ${RETRY_AFTER_SECONDS} s`,
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
    this.admitted++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.admitted--;
    };
  }

  upload(task: UploadTask): Promise<UploadResult> {
    return this.run(task) as Promise<UploadResult>;
  }

  predict(task: PredictTask): Promise<PredictResult> {
    return this.run(task) as Promise<PredictResult>;
  }

  onnx(task: OnnxTask): Promise<OnnxResult> {
    return this.run(task) as Promise<OnnxResult>;
  }

  private run(task: CpuTask): Promise<CpuResult> {
    if (this.closed) return Promise.reject(new ApiError('unavailable', 'the API is shutting down', { retryAfterSeconds: RETRY_AFTER_SECONDS }));
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, task, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      let thread = this.threads.find((t) => t.current === null);
      if (thread === undefined && this.threads.length < this.size) thread = this.spawn();
      if (thread === undefined) return;
      const next = this.waiting.shift() as Pending;
      thread.current = next;
      thread.worker.postMessage({ id: next.id, task: next.task });
    }
  }

  private spawn(): Thread {
    const worker = new Worker(threadScript(), {
      workerData: { storage: this.storage } satisfies ThreadData,
      // A small young generation: a streamed CSV conversion makes short-lived strings by the
      // gigabyte, and V8's default lets tens of MB of them pile up between collections.
      resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB, ...(this.heapMb === null ? {} : { maxOldGenerationSizeMb: this.heapMb }) },
    });
    // A pool nobody closed must not keep the process alive.
    worker.unref();
    const thread: Thread = { worker, current: null };
    worker.on('message', (reply: ThreadReply) => {
      const pending = thread.current;
      if (pending === null || pending.id !== reply.id) return;
      thread.current = null;
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(toError(reply.error));
      this.dispatch();
    });
    // A thread that dies (out of memory, a bug) fails its task alone; the next task gets a new thread.
    const lost = (err: Error) => {
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      const pending = thread.current;
      thread.current = null;
      if (pending !== null) pending.reject(err);
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (err: NodeJS.ErrnoException) => {
      const limit = this.heapMb === null ? "V8's default heap limit" : `its heap limit of API_CPU_THREAD_HEAP_MB=${this.heapMb} MiB`;
      lost(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? insufficientMemory(`the thread that ran it reached ${limit}`) : err);
    });
    worker.on('exit', (code) => lost(new Error(`CPU thread exited with code ${code}`)));
    this.threads.push(thread);
    return thread;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.reject(new ApiError('unavailable', 'the API is shutting down', { retryAfterSeconds: RETRY_AFTER_SECONDS }));
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
