import { describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/core/safetensors.js';
import { resumePoint } from '../../workers/resume-point.js';

const stateAt = (epoch: number) => encodeSafetensors([], { format: 'traind.resume', format_version: '1', state: JSON.stringify({ epoch, step: epoch * 10, kept: [] }) });

describe('resumePoint', () => {
  it('resumes when the stream recorded the resume state’s epoch (or one after it)', () => {
    const bytes = stateAt(4);
    expect(resumePoint(bytes, 4)).toEqual({ resume: bytes, lost: null });
    expect(resumePoint(bytes, 5)).toEqual({ resume: bytes, lost: null });
  });

  it('starts from epoch 0 when the resume state is ahead of the stream, naming the lost epochs', () => {
    expect(resumePoint(stateAt(4), 3)).toEqual({ resume: null, lost: { from: 4, to: 4 } });
    expect(resumePoint(stateAt(4), 0)).toEqual({ resume: null, lost: { from: 1, to: 4 } });
  });

  it('passes no state and unreadable states through (the core says why it cannot use them)', () => {
    expect(resumePoint(null, 2)).toEqual({ resume: null, lost: null });
    const junk = new Uint8Array([9, 9, 9]);
    expect(resumePoint(junk, 0)).toEqual({ resume: junk, lost: null });
  });
});
