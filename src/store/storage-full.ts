// The one storage failure a client or a job should hear about by name: DATA_DIR has no space
// (or quota) left. Raised at the storage boundary (the local driver's writes), mapped to 507 by the API.

/** errno codes that mean the volume, or this user's quota on it, is full. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

export class StorageFullError extends Error {
  override readonly name = 'StorageFullError';
  constructor(
    readonly code: string,
    readonly file: string,
    readonly bytes: number,
  ) {
    super(`storage full: no space left in DATA_DIR (${code}) writing ${file}, ${bytes} bytes`);
  }
}

/** The error as a StorageFullError when it says the volume is full, else unchanged. */
export function asStorageFull(err: unknown, file: string, bytes: number): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && FULL_CODES.has(code) ? new StorageFullError(code, file, bytes) : err;
}
