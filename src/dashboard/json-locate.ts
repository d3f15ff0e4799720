// Where a field the API names ("model.layers.0.units") is in the JSON text a person typed: a small
// JSON scanner that records each value's place by its dotted path, so an error can be shown at
// its line. Stops quietly at a syntax error (what was scanned so far still counts).

export interface Place {
  /** Offset of the member's key (or of the value, for array items and the root). */
  start: number;
  /** Offset just past the value. */
  end: number;
}

export function placesOf(text: string): Map<string, Place> {
  const places = new Map<string, Place>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new SyntaxError(`unexpected input at ${i}`);
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string, start: number): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') i++;
      else
        for (;;) {
          ws();
          if (text[i] !== '"') fail();
          const keyStart = i;
          const key = string();
          ws();
          if (text[i] !== ':') fail();
          i++;
          value(path === '' ? key : `${path}.${key}`, keyStart);
          ws();
          if (text[i] === ',') i++;
          else if (text[i] === '}') {
            i++;
            break;
          } else fail();
        }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') i++;
      else
        for (let n = 0; ; n++) {
          ws();
          value(path === '' ? String(n) : `${path}.${n}`, i);
          ws();
          if (text[i] === ',') i++;
          else if (text[i] === ']') {
            i++;
            break;
          } else fail();
        }
    } else if (c === '"') string();
    else {
      const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (m === null) fail();
      i += m![0].length;
    }
    places.set(path, { start, end: i });
  };
  try {
    ws();
    value('', i);
  } catch {
    // A syntax error: keep the places found before it.
  }
  return places;
}

/** The place of `path`, else of its nearest ancestor that is in the text (a missing field is shown at its parent). */
export function locate(places: Map<string, Place>, path: string): { place: Place; exact: boolean } | null {
  const parts = path === '' || path === '(root)' ? [] : path.split('.');
  for (let n = parts.length; n >= 0; n--) {
    const place = places.get(parts.slice(0, n).join('.'));
    if (place !== undefined) return { place, exact: n === parts.length };
  }
  return null;
}

/** 0-based line of an offset. */
export function lineOf(text: string, offset: number): number {
  let line = 0;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** The offset a JSON.parse error message names ("… at position 57 …", or "line 3 column 5"), if any. */
export function syntaxErrorOffset(text: string, message: string): number | null {
  const pos = /position (\d+)/.exec(message);
  if (pos) return Number(pos[1]);
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) {
    const lines = text.split('\n');
    return lines.slice(0, Number(lc[1]) - 1).reduce((n, l) => n + l.length + 1, 0) + Number(lc[2]) - 1;
  }
  return null;
}
