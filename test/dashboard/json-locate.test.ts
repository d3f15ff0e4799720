// The dashboard's JSON scanner: the line of a field the API names, in the text a person typed.
import { describe, expect, it } from 'vitest';
import { lineOf, locate, placesOf, syntaxErrorOffset } from '../../src/dashboard/json-locate.js';

const text = `{
  "name": "x",
  "model": {"layers": [
    {"type": "dense", "units": 8},
    {"type": "dense", "units": 0, "activation": "re\\"lu"}
  ]},
  "epochs": 3
}`;

function lineFor(source: string, path: string): number | null {
  const found = locate(placesOf(source), path);
  return found === null ? null : lineOf(source, found.place.start) + 1;
}

describe('json-locate', () => {
  it('finds object members and array items by their dotted path, at their key', () => {
    expect(lineFor(text, 'model.layers.1.units')).toBe(5);
    expect(lineFor(text, 'model.layers.0')).toBe(4);
    expect(lineFor(text, 'epochs')).toBe(7);
    const places = placesOf(text);
    const units = places.get('model.layers.1.units')!;
    expect(text.slice(units.start, units.end)).toBe('"units": 0');
    expect(text.slice(places.get('model.layers.1.activation')!.start, places.get('model.layers.1.activation')!.end)).toBe('"activation": "re\\"lu"');
  });

  it('shows a missing field at its nearest parent, and the root at line 1', () => {
    const found = locate(placesOf(text), 'model.layers.1.init');
    expect(found?.exact).toBe(false);
    expect(lineFor(text, 'model.layers.1.init')).toBe(5);
    expect(lineFor(text, 'loss')).toBe(1);
    expect(lineFor(text, '')).toBe(1);
  });

  it('keeps what it found before a syntax error, and reads the offset from V8 parse messages', () => {
    const broken = '{\n  "name": "x",\n  "epochs": 3,,\n}';
    expect(lineFor(broken, 'name')).toBe(2);
    let message = '';
    try {
      JSON.parse(broken);
    } catch (err) {
      message = (err as Error).message;
    }
    const offset = syntaxErrorOffset(broken, message);
    expect(offset).not.toBeNull();
    expect(lineOf(broken, offset!) + 1).toBe(3);
    expect(syntaxErrorOffset(broken, 'Expected property name at line 3 column 15')).toBe(broken.indexOf(',,') + 1);
  });
});
