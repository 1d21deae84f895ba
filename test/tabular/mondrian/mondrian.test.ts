import { describe, expect, it } from 'vitest';
import { generateCohort, COHORT_COLUMNS } from '../../../src/demo/cohort.js';
import { anonymizeTable } from '../../../src/tabular/anonymize.js';
import { parseDate } from '../../../src/tabular/hierarchy/builders/dates.js';
import { tableFromRows, tableToRows } from '../../../src/tabular/table.js';
import type { TabularPolicy } from '../../../src/policy/sections/tabular.js';
import { isVeilError } from '../../../src/errors.js';

const columns: string[] = [...COHORT_COLUMNS];
const rows = generateCohort({ rows: 3000, seed: 7 });
const table = tableFromRows(columns, rows);
const col = (name: string) => columns.indexOf(name);

function basePolicy(privacy: TabularPolicy['privacy']): TabularPolicy {
  return {
    identifiers: [],
    quasiIdentifiers: [
      { column: 'age', type: 'numeric', minLevel: 0 },
      { column: 'sex', type: 'categorical', minLevel: 0 },
      { column: 'zip', type: 'categorical', hierarchy: { masking: { char: '*', from: 'right' } }, minLevel: 0 },
      { column: 'admission_date', type: 'date', hierarchy: { dates: { levels: ['month', 'year'] } }, minLevel: 0 },
    ],
    sensitive: [{ column: 'diagnosis', type: 'categorical' }, { column: 'length_of_stay', type: 'numeric' }],
    privacy,
    otherColumns: 'keep',
    missingValues: ['', '?', 'NA'],
  };
}

/** Groups the output by its quasi-identifier texts, independently of the engine's own metrics. */
function classesOf(out: string[][]): Map<string, number[]> {
  const classes = new Map<string, number[]>();
  out.forEach((row, r) => {
    const key = ['age', 'sex', 'zip', 'admission_date'].map((c) => row[col(c)]).join('\u0001');
    const members = classes.get(key) ?? [];
    members.push(r);
    classes.set(key, members);
  });
  return classes;
}

/** Does the published label cover the original value? */
function covers(label: string, value: string, kind: 'age' | 'zip' | 'date' | 'sex'): boolean {
  if (label === value) return true;
  if (kind === 'age') {
    const m = /^\[(\d+)-(\d+)\]$/.exec(label);
    return !!m && Number(value) >= Number(m[1]) && Number(value) <= Number(m[2]);
  }
  if (kind === 'zip') return label === '*' || (label.length === value.length && [...label].every((ch, i) => ch === '*' || ch === value[i]));
  if (kind === 'date') {
    const d = parseDate(value);
    return label === '*' || (!!d && (label === `${d.year}` || label === `${d.year}-${String(d.month).padStart(2, '0')}`));
  }
  return label === '*' || (label.startsWith('{') && label.slice(1, -1).split(',').includes(value));
}

describe('Mondrian on a synthetic cohort', () => {
  const cases: [string, TabularPolicy['privacy']][] = [
    ['k=2', { k: 2, suppressionLimit: 0 }],
    ['k=10', { k: 10, suppressionLimit: 0 }],
    ['k=5, distinct l=3', { k: 5, l: { variant: 'distinct', l: 3 }, suppressionLimit: 0 }],
    ['k=5, entropy l=2', { k: 5, l: { variant: 'entropy', l: 2 }, suppressionLimit: 0 }],
    ['k=5, recursive (3,2)', { k: 5, l: { variant: 'recursive', l: 2, c: 3 }, suppressionLimit: 0 }],
    ['k=5, t=0.3', { k: 5, t: { t: 0.3 }, suppressionLimit: 0 }],
  ];

  for (const [name, privacy] of cases) {
    it(`${name}: every class of the output satisfies the policy and covers its records`, () => {
      const { output, report } = anonymizeTable(table, basePolicy(privacy), { baseDir: '.' });
      const out = tableToRows(output);
      expect(out).toHaveLength(rows.length);
      const classes = classesOf(out);
      for (const members of classes.values()) {
        expect(members.length).toBeGreaterThanOrEqual(privacy.k);
        if (privacy.l?.variant === 'distinct') {
          for (const s of ['diagnosis', 'length_of_stay']) expect(new Set(members.map((r) => rows[r][col(s)])).size).toBeGreaterThanOrEqual(privacy.l.l);
        }
        if (privacy.l?.variant === 'entropy') {
          const counts = new Map<string, number>();
          for (const r of members) counts.set(rows[r][col('diagnosis')], (counts.get(rows[r][col('diagnosis')]) ?? 0) + 1);
          const h = -[...counts.values()].reduce((a, c) => a + (c / members.length) * Math.log(c / members.length), 0);
          expect(Math.exp(h)).toBeGreaterThanOrEqual(privacy.l.l - 1e-9);
        }
      }
      for (let r = 0; r < rows.length; r++) {
        expect(covers(out[r][col('age')], rows[r][col('age')], 'age')).toBe(true);
        expect(covers(out[r][col('zip')], rows[r][col('zip')], 'zip')).toBe(true);
        expect(covers(out[r][col('admission_date')], rows[r][col('admission_date')], 'date')).toBe(true);
        expect(covers(out[r][col('sex')], rows[r][col('sex')], 'sex')).toBe(true);
        // sensitive and other columns are never changed
        expect(out[r][col('diagnosis')]).toBe(rows[r][col('diagnosis')]);
        expect(out[r][col('name')]).toBe(rows[r][col('name')]);
      }
      expect(report.classes.count).toBe(classes.size);
      expect(report.privacy.k.achieved).toBe(Math.min(...[...classes.values()].map((m) => m.length)));
      expect(report.privacy.satisfied).toBe(true);
      if (privacy.t) expect(report.privacy.t?.achieved).toBeLessThanOrEqual(privacy.t.t);
    });
  }

  it('more privacy costs more utility', () => {
    const ncp = (privacy: TabularPolicy['privacy']) => anonymizeTable(table, basePolicy(privacy), { baseDir: '.' }).report.utility.ncp;
    expect(ncp({ k: 2, suppressionLimit: 0 })).toBeLessThan(ncp({ k: 10, suppressionLimit: 0 }));
    expect(ncp({ k: 10, suppressionLimit: 0 })).toBeLessThan(ncp({ k: 50, suppressionLimit: 0 }));
  });

  it('fails with the reason when the data cannot satisfy the policy', () => {
    const tiny = tableFromRows(['age', 'd'], [['1', 'x'], ['2', 'x'], ['3', 'x']]);
    const policy: TabularPolicy = { ...basePolicy({ k: 2, l: { variant: 'distinct', l: 2 }, suppressionLimit: 0 }), quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }], sensitive: [{ column: 'd', type: 'categorical' }] };
    try {
      anonymizeTable(tiny, policy, { baseDir: '.' });
      throw new Error('expected an error');
    } catch (error) {
      if (!isVeilError(error)) throw error;
      expect(error.code).toBe('POLICY_UNSATISFIABLE');
      expect(error.message).toMatch(/only 1 distinct value of "d"/);
    }
    expect(() => anonymizeTable(tiny, { ...policy, sensitive: [], privacy: { k: 4, suppressionLimit: 0 } }, { baseDir: '.' })).toThrow(/larger than the table/);
  });

  it('suppresses every record when the table cannot comply and the limit allows all', () => {
    const tiny = tableFromRows(['age'], [['1'], ['2'], ['3']]);
    const policy: TabularPolicy = { ...basePolicy({ k: 4, suppressionLimit: 1 }), quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }], sensitive: [] };
    const { output, report } = anonymizeTable(tiny, policy, { baseDir: '.' });
    expect(tableToRows(output)).toEqual([['*'], ['*'], ['*']]);
    expect(report.suppressed).toBe(3);
    expect(report.privacy.satisfied).toBe(true);
    // every suppressed record costs the table size in DM and 1 per cell in NCP
    expect(report.utility.dm).toBe(9);
    expect(report.utility.ncp).toBe(1);
    expect(report.notes.join(' ')).toMatch(/Every record was suppressed: k = 4 is larger than the table/);
  });
});
