// A buffer that could not be allocated, told apart from other errors: trainers, evaluation threads
// and the API's CPU threads report it as running out of memory rather than as a bug.

/** A RangeError from ArrayBuffer, Buffer or WebAssembly.Memory that could not get its memory. */
export function isAllocationFailure(err: unknown): boolean {
  return err instanceof RangeError && /allocation failed|could not allocate|out of memory|Cannot allocate/i.test(err.message);
}
