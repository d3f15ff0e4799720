// The driver for the configured settings, one per process (or CPU thread) and settings.
import { LocalStorage } from './local-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage, StorageSettings } from './storage.js';

const drivers = new Map<string, Storage>();

export function createStorage(settings: StorageSettings): Storage {
  const id = JSON.stringify(settings);
  let driver = drivers.get(id);
  if (driver === undefined) {
    if (settings.kind === 'local') driver = new LocalStorage(settings.root);
    else driver = new S3Storage(settings);
    drivers.set(id, driver);
  }
  return driver;
}
