// How an error message shows a piece of the client's input: a short prefix, quoted and escaped
// (JSON string syntax, so control characters, quotes and newlines cannot forge the message),
// with the full length when it was cut. A 50 MB CSV cell must not come back as a 100 MB error.

/** Characters of input an error message quotes at most. */
export const QUOTED_INPUT_CHARS = 40;

/** The first `max` characters of `text`, never splitting a surrogate pair. */
export function inputPrefix(text: string, max = QUOTED_INPUT_CHARS): string {
  if (text.length <= max) return text;
  const end = max > 0 && /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

/** `"abc"`, or `"abcd…" (52428800 characters)` when the input is longer than `max`. */
export function quoteInput(text: string, max = QUOTED_INPUT_CHARS): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(`${inputPrefix(text, max)}…`)} (${text.length} characters)`;
}

/** A JSON value named for an error message without serializing it (it may be huge or deeply nested). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return quoteInput(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}
