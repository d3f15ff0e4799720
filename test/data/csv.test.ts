import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/index.js';
import { dataError } from './data-error.js';


describe('parseCsv', () => {
  it('reads features row-major and integer labels as classes', () => {
    const { dataset, meta, featureNames } = parseCsv('a,b,label\n1,2,0\n3.5,-4e1,2\n', { label: 'label' });
    expect(Array.from(dataset.x)).toEqual([1, 2, 3.5, -40]);
    expect(Array.from(dataset.y)).toEqual([0, 2]);
    expect(meta).toEqual({ rows: 2, features: 2, classes: 3, task: 'classification', targetWidth: 1 });
    expect(featureNames).toEqual(['a', 'b']);
  });

  it('takes the label column from anywhere in the row', () => {
    const { dataset } = parseCsv('y,a,b\n0.5,1,2\n1.5,3,4\n', { label: 'y' });
    expect(Array.from(dataset.x)).toEqual([1, 2, 3, 4]);
    expect(Array.from(dataset.y)).toEqual([0.5, 1.5]);
  });

  it('defaults to a column named label, else the last column', () => {
    expect(Array.from(parseCsv('label,a\n1,5\n0,6\n').dataset.y)).toEqual([1, 0]);
    expect(Array.from(parseCsv('a,target\n5,1\n6,0\n').dataset.y)).toEqual([1, 0]);
  });

  it('infers regression from non-integer labels and honours a task override', () => {
    expect(parseCsv('a,y\n1,0.5\n2,1\n', { label: 'y' }).meta).toMatchObject({ task: 'regression', classes: null });
    expect(parseCsv('a,y\n1,3\n2,7\n', { label: 'y', task: 'regression' }).meta.task).toBe('regression');
  });

  it('supports several label columns as multi-output targets', () => {
    const { dataset, meta } = parseCsv('a,y1,y2\n1,0.5,2\n2,1.5,3\n', { label: ['y1', 'y2'] });
    expect(meta).toMatchObject({ targetWidth: 2, task: 'regression' });
    expect(Array.from(dataset.y)).toEqual([0.5, 2, 1.5, 3]);
  });

  it('handles CRLF, a BOM, quoted headers, blank lines and surrounding spaces', () => {
    const { dataset, featureNames } = parseCsv('\ufeff"petal, length",label\r\n 1.5 ,0\r\n\r\n2,1\r\n', { label: 'label' });
    expect(featureNames).toEqual(['petal, length']);
    expect(Array.from(dataset.x)).toEqual([1.5, 2]);
  });

  it('names the line of a ragged row', () => {
    const err = dataError(() => parseCsv('a,b,label\n1,2,0\n1,2\n', { label: 'label' }));
    expect(err.path).toBe('line.3');
    expect(err.message).toContain('line 3 has 2 fields, the header has 3');
  });

  it('names the line and column of a non-numeric cell', () => {
    const err = dataError(() => parseCsv('a,b,label\n1,2,0\n1,abc,1\n', { label: 'label' }));
    expect(err.path).toBe('line.3.b');
    expect(err.message).toBe('line 3, column "b": "abc" is not a number');
  });

  it.each([['NaN'], ['Infinity'], ['-Infinity'], ['1e39'], ['0x10'], [''], ['1,5']])('refuses the cell %j', (cell) => {
    const quoted = cell.includes(',') ? `"${cell}"` : cell;
    const err = dataError(() => parseCsv(`a,label\n${quoted},0\n`, { label: 'label' }));
    expect(err.path).toBe('line.2.a');
  });

  it('says what labels must be when a label cell is text', () => {
    const err = dataError(() => parseCsv('a,species\n1,setosa\n', { label: 'species' }));
    expect(err.path).toBe('line.2.species');
    expect(err.message).toContain('"setosa" is not a number');
    expect(err.message).toContain('class indices');
  });

  it('refuses a missing label column, listing the columns', () => {
    const err = dataError(() => parseCsv('a,b\n1,2\n', { label: 'species' }));
    expect(err.path).toBe('label');
    expect(err.message).toContain('"species"');
    expect(err.message).toContain('"a", "b"');
  });

  it('refuses an empty file, a header without rows, and duplicate column names', () => {
    expect(dataError(() => parseCsv('')).path).toBe('header');
    expect(dataError(() => parseCsv('a,label\n')).path).toBe('rows');
    expect(dataError(() => parseCsv('a,a,label\n1,2,0\n')).path).toBe('header.a');
  });

  it('refuses forcing classification onto fractional labels', () => {
    expect(dataError(() => parseCsv('a,y\n1,0.5\n', { label: 'y', task: 'classification' })).path).toBe('label');
  });

  it('stops at the row and feature limits with a too-large code', () => {
    const rows = ['a,b,label', ...Array.from({ length: 11 }, (_, i) => `${i},1,0`)].join('\n');
    const tooMany = dataError(() => parseCsv(rows, { limits: { maxRows: 10 } }));
    expect(tooMany.code).toBe('dataset_too_large');
    expect(dataError(() => parseCsv(rows, { limits: { maxFeatures: 1 } })).code).toBe('dataset_too_large');
    expect(parseCsv(rows, { limits: { maxRows: 11, maxFeatures: 2 } }).meta.rows).toBe(11);
  });

  it('reports an unterminated quote', () => {
    expect(dataError(() => parseCsv('a,label\n"1,0\n')).message).toContain('never closed');
  });
});

describe('parseCsv on bytes', () => {
  it('decodes UTF-8 bytes the same as text', () => {
    const text = 'a,label\n1,0\n2,1\n';
    expect(parseCsv(new TextEncoder().encode(text))).toEqual(parseCsv(text));
  });

  it('parses quoted fields in linear time: a 30 MB quoted cell, and a line of 5 million quoted fields', () => {
    const big = `a,label\n"${'x'.repeat(30_000_000)}",0\n`;
    let started = performance.now();
    expect(dataError(() => parseCsv(big)).message).toContain('is not a number');
    // Growing the cell a character at a time took 39 s for 50 MB; slicing takes well under 1 s.
    expect(performance.now() - started).toBeLessThan(3000);
    const wide = `a,label\n${Array.from({ length: 5_000_000 }, () => '"1.5"').join(',')}\n`;
    started = performance.now();
    expect(dataError(() => parseCsv(wide)).message).toContain('line 2 has more than 2 fields, the header has 2');
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('keeps RFC 4180 quoting exact: escaped quotes, commas and newlines inside quotes, mixed segments', () => {
    const { dataset, featureNames } = parseCsv('"a ""x""","b,c",label\n"1",2"3",0\n"4\n",5,1\n', { label: 'label' });
    expect(featureNames).toEqual(['a "x"', 'b,c']);
    expect(Array.from(dataset.x)).toEqual([1, 23, 4, 5]);
    expect(dataError(() => parseCsv('a,label\n1,0\n"2\n\n,1\n')).message).toContain('line 3: a quoted field is never closed');
  });

  it('refuses a dataset whose float32 conversion exceeds the byte limit, naming MAX_UNCOMPRESSED_BYTES', () => {
    const text = `a,b,label\n${'1,2,0\n'.repeat(100)}`;
    expect(parseCsv(text, { limits: { maxBytes: 1200 } }).meta.rows).toBe(100);
    const err = dataError(() => parseCsv(text, { limits: { maxBytes: 1199 } }));
    expect(err.code).toBe('dataset_too_large');
    expect(err.message).toContain('MAX_UNCOMPRESSED_BYTES');
    expect(err.path).toBe('line.101');
  });
});
