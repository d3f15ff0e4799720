// The driver for the configured settings, one per process (or CPU thread) and settings.
import { LocalStorage } from './local-storage.js';
import type { Storage, StorageSettings } from './storage.js';

const drivers = new Map<string, Storage>();

export function createStorage(settings: StorageSettings): Storage {
  const id = JSON.stringify(settings);
  let driver = drivers.get(id);
  if (driver === undefined) {
    if (settings.kind === 'local') driver = new LocalStorage(settings.root);
    else throw new Error('S3 storage is not available in this build');
    drivers.set(id, driver);
  }
  return driver;
}
