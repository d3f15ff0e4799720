import { describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/core/safetensors.js';
import { resumePoint, type StoredProgress } from '../../workers/resume-point.js';

/** A resume state after `epoch` epochs, keeping the checkpoints of `kept` (best first). */
const stateAt = (epoch: number, kept: number[] = []) =>
  encodeSafetensors([], { format: 'traind.resume', format_version: '1', state: JSON.stringify({ epoch, step: epoch * 10, kept: kept.map((e) => ({ epoch: e, value: 1 / e })) }) });

const stored = (recordedEpoch: number, indexed: number[] = [], best: number | null = null): StoredProgress => ({ recordedEpoch, indexed, best });

describe('resumePoint', () => {
  it('resumes when Redis holds the record and checkpoint index the resume state assumes', () => {
    const bytes = stateAt(4, [3, 1]);
    expect(resumePoint(bytes, stored(4, [1, 3], 3))).toEqual({ resume: bytes, lost: null });
    // A later epoch recorded (an attempt stopped before that epoch's resume state): its index
    // changes may be there too, partly; it is trained again.
    expect(resumePoint(bytes, stored(5, [3, 5], 5))).toEqual({ resume: bytes, lost: null });
    expect(resumePoint(stateAt(2), stored(2))).toEqual({ resume: stateAt(2), lost: null });
  });

  it('starts from epoch 0 when the stream lost epochs the resume state holds', () => {
    expect(resumePoint(stateAt(4, [3, 1]), stored(3, [1, 3], 3))).toEqual({ resume: null, lost: 'the stream lost epochs 4-4' });
    expect(resumePoint(stateAt(4), stored(0))).toEqual({ resume: null, lost: 'the stream lost epochs 1-4' });
  });

  it('starts from epoch 0 when the checkpoint index lost a change of the resume state’s last epoch', () => {
    // Epoch 4's checkpoint added and epoch 1's evicted: the add lost, the eviction lost, the best mark lost.
    expect(resumePoint(stateAt(4, [4, 3]), stored(4, [1, 3], 3)).lost).toBe('the checkpoint index lost epochs 4');
    expect(resumePoint(stateAt(4, [4, 3]), stored(4, [1, 3, 4], 3)).lost).toBe('the checkpoint index still names evicted epochs 1');
    expect(resumePoint(stateAt(4, [4, 3]), stored(4, [3, 4], 3)).lost).toBe('the checkpoint index marks epoch 3 best, not 4');
    expect(resumePoint(stateAt(4, [4, 3]), stored(4, [3, 4], null)).lost).toBe('the checkpoint index marks no epoch best, not 4');
    expect(resumePoint(stateAt(4, [4, 3]), stored(4, [3, 4], 3)).resume).toBeNull();
  });

  it('passes no state and unreadable states through (the core says why it cannot use them)', () => {
    expect(resumePoint(null, stored(2))).toEqual({ resume: null, lost: null });
    const junk = new Uint8Array([9, 9, 9]);
    expect(resumePoint(junk, stored(0))).toEqual({ resume: junk, lost: null });
  });
});
