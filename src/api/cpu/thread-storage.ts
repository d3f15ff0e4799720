// The storage driver of a CPU thread, made from the settings its pool started it with (workerData).
import { workerData } from 'node:worker_threads';
import { createStorage } from '../../storage/create-storage.js';
import type { Storage, StorageSettings } from '../../storage/storage.js';

/** What a pool hands each thread it starts. */
export interface ThreadData {
  storage: StorageSettings;
}

export function threadStorage(): Storage {
  const data = workerData as ThreadData | null;
  if (data?.storage === undefined) throw new Error('CPU thread started without its storage settings');
  return createStorage(data.storage);
}
