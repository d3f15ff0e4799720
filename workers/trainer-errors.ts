// How a trainer tells its worker what BullMQ should do with the job, without loading BullMQ (half
// a trainer's start-up time): the worker maps these names to BullMQ's own errors.

/** Fail the job now, without retries (BullMQ's UnrecoverableError). */
export class UnrecoverableError extends Error {
  override readonly name = 'UnrecoverableError';
}

/** Leave the job alone: it is someone else's now (BullMQ's WaitingError). */
export class WaitingError extends Error {
  override readonly name = 'WaitingError';
}

/** The trainer stopped for a worker shutdown: the worker puts the job back in the queue. */
export class HandBackError extends Error {
  override readonly name = 'HandBackError';
}
