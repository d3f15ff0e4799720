// Where a restarted attempt starts training: its resume state, unless Redis lost what that state
// assumes was written before it. Redis answers a write before its append-only file holds it (with
// `appendfsync everysec` it may put the file write off for up to 2 s while a background fsync
// runs), so a Redis crash can lose the last epochs' records and checkpoint index changes while the
// resume state, written to storage after them, survives. Resuming from it would leave those epochs
// out of the stream for good, or a kept checkpoint out of the index, or an evicted one in it (its
// file already deleted). Training is deterministic, so starting again from epoch 0 writes exactly
// what was lost (records the stream still holds are dropped as duplicates, checkpoints are saved
// and evicted again as they were) and ends with the same metrics and checkpoint bytes.

import { resumeStateSummary } from '../src/core/index.js';

/** What Redis holds of the job's progress. */
export interface StoredProgress {
  /** The last epoch the job's stream recorded (0: none). */
  recordedEpoch: number;
  /** Epochs of the checkpoints in the job's index. */
  indexed: readonly number[];
  /** The index's best mark, or null. */
  best: number | null;
}

export interface ResumePoint {
  /** The resume state to train from, or null to start from epoch 0. */
  resume: Uint8Array | null;
  /** What Redis lacks that the resume state assumes, when the state is set aside for it. */
  lost: string | null;
}

export function resumePoint(resume: Uint8Array | null, stored: StoredProgress): ResumePoint {
  const summary = resume === null ? null : resumeStateSummary(resume);
  // An unreadable state goes to the core, which says why and is then set aside (processor.ts).
  if (summary === null) return { resume, lost: null };
  const lost = lostWrites(summary.epoch, summary.kept, stored);
  return lost === null ? { resume, lost: null } : { resume: null, lost };
}

/**
 * Null when Redis holds everything written before the resume state of `epoch` was. A crash loses
 * a tail of the writes, and a trainer writes an epoch's record, then its checkpoint index changes,
 * then (to storage) its resume state. So a stream holding a later epoch proves the rest is there
 * (the later epoch's own index changes may be too, partly: that epoch is trained again and
 * writes them again, the same). A stream ending at `epoch` leaves the index to check: it must name
 * exactly the kept checkpoints and mark the first of them best.
 */
function lostWrites(epoch: number, kept: readonly number[], stored: StoredProgress): string | null {
  if (stored.recordedEpoch < epoch) return `the stream lost epochs ${stored.recordedEpoch + 1}-${epoch}`;
  if (stored.recordedEpoch > epoch) return null;
  const indexed = new Set(stored.indexed);
  const missing = kept.filter((e) => !indexed.has(e));
  if (missing.length > 0) return `the checkpoint index lost epochs ${missing.join(', ')}`;
  const keptSet = new Set(kept);
  const evicted = stored.indexed.filter((e) => !keptSet.has(e));
  if (evicted.length > 0) return `the checkpoint index still names evicted epochs ${evicted.join(', ')}`;
  const top = kept[0];
  if (top !== undefined && stored.best !== top) return `the checkpoint index marks ${stored.best === null ? 'no epoch' : `epoch ${stored.best}`} best, not ${top}`;
  return null;
}
