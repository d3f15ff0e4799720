import { describe, expect, it } from 'vitest';
import { parseJsonRows } from '../../src/data/index.js';
import { dataError } from './data-error.js';


describe('parseJsonRows', () => {
  it('reads NDJSON rows', () => {
    const text = '{"features":[1,2],"label":1}\n\n{"features":[3,4],"label":0}\n';
    const { dataset, meta } = parseJsonRows(text);
    expect(Array.from(dataset.x)).toEqual([1, 2, 3, 4]);
    expect(Array.from(dataset.y)).toEqual([1, 0]);
    expect(meta).toEqual({ rows: 2, features: 2, classes: 2, task: 'classification', targetWidth: 1 });
  });

  it('reads a JSON array with the same result as NDJSON', () => {
    const rows = [{ features: [1, 2], label: 1 }, { features: [3, 4], label: 0 }];
    const a = parseJsonRows(JSON.stringify(rows));
    const b = parseJsonRows(rows.map((r) => JSON.stringify(r)).join('\n'));
    expect(a).toEqual(b);
  });

  it('treats distribution labels as soft classification targets', () => {
    const { meta, dataset } = parseJsonRows('[{"features":[1],"label":[0.2,0.8]},{"features":[2],"label":[1,0]}]');
    expect(meta).toMatchObject({ task: 'classification', classes: 2, targetWidth: 2 });
    expect(dataset.y[1]).toBeCloseTo(0.8, 6);
  });

  it('treats other label arrays as multi-output regression', () => {
    const { meta } = parseJsonRows('[{"features":[1],"label":[2,3]},{"features":[2],"label":[4,5]}]');
    expect(meta).toMatchObject({ task: 'regression', classes: null, targetWidth: 2 });
  });

  it('names the row of ragged features', () => {
    const err = dataError(() => parseJsonRows('[{"features":[1,2],"label":0},{"features":[1],"label":0}]'));
    expect(err.path).toBe('rows.1.features');
    expect(err.message).toContain('row 1 has 1 features, earlier rows have 2');
  });

  it('names the NDJSON line and feature of a bad value', () => {
    const err = dataError(() => parseJsonRows('{"features":[1,2],"label":0}\n{"features":[1,"x"],"label":0}\n'));
    expect(err.path).toBe('line.2.features.1');
    expect(err.message).toContain('"x" is not a number');
  });

  it('refuses numbers that overflow to Infinity or float32', () => {
    expect(dataError(() => parseJsonRows('[{"features":[1e400],"label":0}]')).message).toContain('infinite');
    expect(dataError(() => parseJsonRows('[{"features":[1e39],"label":0}]')).message).toContain('float32');
  });

  it('refuses a missing label, a non-object row, and broken JSON', () => {
    expect(dataError(() => parseJsonRows('[{"features":[1]}]')).path).toBe('rows.0.label');
    expect(dataError(() => parseJsonRows('[[1,2]]')).path).toBe('rows.0');
    expect(dataError(() => parseJsonRows('[{"features":[1],')).path).toBe('rows');
    expect(dataError(() => parseJsonRows('{"features":[1],"label":0}\n{oops}\n')).path).toBe('line.2');
  });

  it('refuses label arrays of changing width', () => {
    expect(dataError(() => parseJsonRows('[{"features":[1],"label":[0,1]},{"features":[1],"label":[1]}]')).path).toBe(
      'rows.1.label',
    );
  });

  it('refuses a dataset whose float32 conversion exceeds the byte limit, naming MAX_UNCOMPRESSED_BYTES', () => {
    const text = '{"features": [1, 2], "label": 0}\n'.repeat(10);
    expect(parseJsonRows(text, { limits: { maxBytes: 120 } }).meta.rows).toBe(10);
    const err = dataError(() => parseJsonRows(text, { limits: { maxBytes: 119 } }));
    expect(err.code).toBe('dataset_too_large');
    expect(err.message).toContain('MAX_UNCOMPRESSED_BYTES');
    expect(err.path).toBe('line.10');
  });
});
