import { describe, expect, it } from 'vitest';
import { describeValue, inputPrefix, quoteInput, QUOTED_INPUT_CHARS } from '../../src/data/quote-input.js';

describe('quoteInput', () => {
  it('quotes short input whole and escaped', () => {
    expect(quoteInput('abc')).toBe('"abc"');
    expect(quoteInput('a"b\nc\u0000')).toBe('"a\\"b\\nc\\u0000"');
  });

  it('quotes a prefix of long input and says how long it was', () => {
    const q = quoteInput('7'.repeat(50 * 1024 * 1024));
    expect(q).toBe(`"${'7'.repeat(QUOTED_INPUT_CHARS)}…" (52428800 characters)`);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'a'.repeat(QUOTED_INPUT_CHARS - 1)}😀😀`;
    expect(inputPrefix(text)).toBe('a'.repeat(QUOTED_INPUT_CHARS - 1));
  });

  it('names JSON values without serializing them', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(describeValue(deep)).toBe('an array');
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(true)).toBe('true');
    expect(describeValue('x'.repeat(1000))).toContain('(1000 characters)');
  });
});
