import { describe, expect, it } from 'vitest';
import { pseudonym, replaceIdentifier } from '../../src/tabular/identifiers.js';
import { tableFromRows } from '../../src/tabular/table.js';

const key = Buffer.from('a-test-secret-of-enough-length');
const column = tableFromRows(['id'], [['MRN123'], ['MRN456'], ['MRN123'], ['']]).columns[0];
const missing = new Set(['', '?', 'NA']);
const values = (c: { codes: Int32Array; dictionary: readonly string[] }) => Array.from(c.codes, (code) => c.dictionary[code]);

describe('direct identifiers', () => {
  it('remove empties every value and keeps missing ones', () => {
    expect(values(replaceIdentifier(column, { column: 'id', action: 'remove', keep: 0, optional: false }, missing, undefined))).toEqual(['', '', '', '']);
  });

  it('mask keeps only the last characters', () => {
    expect(values(replaceIdentifier(column, { column: 'id', action: 'mask', keep: 2, optional: false }, missing, undefined))).toEqual(['****23', '****56', '****23', '']);
  });

  it('pseudonymize is keyed, deterministic and per column', () => {
    const out = values(replaceIdentifier(column, { column: 'id', action: 'pseudonymize', keep: 0, optional: false }, missing, key));
    expect(out[0]).toBe(out[2]);
    expect(out[0]).not.toBe(out[1]);
    expect(out[0]).toMatch(/^P[0-9A-F]{16}$/);
    expect(out[3]).toBe('');
    expect(pseudonym(key, 'id', 'MRN123')).toBe(out[0]);
    expect(pseudonym(key, 'other_column', 'MRN123')).not.toBe(out[0]);
    expect(pseudonym(Buffer.from('another-secret-of-enough-length'), 'id', 'MRN123')).not.toBe(out[0]);
  });

  it('randomize needs no key, is consistent within a run and new in every run', () => {
    const spec = { column: 'id', action: 'randomize' as const, keep: 0, optional: false };
    const first = values(replaceIdentifier(column, spec, missing, undefined));
    const second = values(replaceIdentifier(column, spec, missing, undefined));
    expect(first[0]).toMatch(/^R[0-9A-F]{16}$/);
    expect(first[0]).toBe(first[2]);
    expect(first[0]).not.toBe(first[1]);
    expect(first[3]).toBe('');
    expect(second[0]).not.toBe(first[0]);
  });

  it('randomize gives every distinct value its own pseudonym', () => {
    const many = tableFromRows(['id'], Array.from({ length: 5000 }, (_, i) => [`MRN${i}`])).columns[0];
    const out = values(replaceIdentifier(many, { column: 'id', action: 'randomize', keep: 0, optional: false }, missing, undefined));
    expect(new Set(out).size).toBe(5000);
  });
});
