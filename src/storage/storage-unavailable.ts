// A store that failed or stayed too slow after the SDK's retries: the API answers 503 with
// Retry-After, a job's attempt fails and is retried from its last resume state. Never partial data.

export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  constructor(
    /** What was being done: `writing jobs/…/epoch-3.safetensors`. */
    readonly operation: string,
    readonly reason: string,
  ) {
    super(`object storage unavailable ${operation}: ${reason}`);
  }
}
