// Datasets a spare trainer loads before it has a job (workers/spare-trainer.ts): the uploaded
// datasets the worker's recent jobs used, most recent first, while they fit in DATASET_CACHE_BYTES.
// A job takes its dataset from here instead of reading the file (it then owns those arrays, so it
// may split them in place); whatever it does not use is dropped when it starts, so a running job
// holds only its own data.

import type { LoadedDataset } from '../src/data/index.js';
import { loadDataset } from '../src/store/datasets.js';
import { datasetKey } from '../src/store/object-keys.js';
import type { Store } from '../src/store/redis.js';

const preloaded = new Map<string, Promise<LoadedDataset | null>>();

/** Loads what fits, most recent first; resolves with the ids loaded and their bytes. */
export async function preloadDatasets(store: Store, ids: readonly string[], maxBytes: number): Promise<{ datasets: string[]; bytes: number }> {
  let total = 0;
  const done: string[] = [];
  for (const id of ids) {
    let size: number;
    try {
      const st = await store.storage.stat(datasetKey(id));
      if (st === null) continue;
      size = st.size;
    } catch {
      continue; // deleted since, not an id, or the store is down: the job (if any) reads it the ordinary way and says why
    }
    if (total + size > maxBytes) continue;
    total += size;
    const loading = loadDataset(store, id).catch(() => null);
    preloaded.set(id, loading);
    if ((await loading) !== null) done.push(id);
  }
  return { datasets: done, bytes: total };
}

/** The dataset if it was preloaded (it is then the caller's alone), else null. */
export async function takePreloaded(id: string): Promise<LoadedDataset | null> {
  const loading = preloaded.get(id);
  preloaded.delete(id);
  return loading === undefined ? null : await loading;
}

/** Drops every preloaded dataset the job did not take. */
export function dropPreloaded(): void {
  preloaded.clear();
}
