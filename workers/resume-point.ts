// Where a restarted attempt starts training: its resume state, unless that state is ahead of the
// epochs the job's stream recorded. Redis answers a write before its append-only file holds it
// (with `appendfsync everysec` it may put the file write off for up to 2 s while a background
// fsync runs), so a Redis crash can lose an epoch's record while that epoch's resume state,
// written to storage after the record, survives. Resuming from it would leave the epoch out of
// the stream for good. Training is deterministic, so starting again from epoch 0 records exactly
// the lost epochs (those the stream still holds are dropped as duplicates) and ends with the same
// metrics and checkpoint bytes.

import { resumeStateEpoch } from '../src/core/index.js';

export interface ResumePoint {
  /** The resume state to train from, or null to start from epoch 0. */
  resume: Uint8Array | null;
  /** The epochs the resume state holds but the stream lost, when it is set aside for them. */
  lost: { from: number; to: number } | null;
}

export function resumePoint(resume: Uint8Array | null, recordedEpoch: number): ResumePoint {
  const epoch = resume === null ? null : resumeStateEpoch(resume);
  // An unreadable state goes to the core, which says why and is then set aside (processor.ts).
  if (epoch === null || epoch <= recordedEpoch) return { resume, lost: null };
  return { resume: null, lost: { from: recordedEpoch + 1, to: epoch } };
}
