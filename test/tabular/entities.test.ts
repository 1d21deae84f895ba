import { describe, expect, it } from 'vitest';
import { VeilError } from '../../src/errors.js';
import type { TabularPolicy } from '../../src/policy/sections/tabular.js';
import { anonymizeTable } from '../../src/tabular/anonymize.js';
import type { Dimension } from '../../src/tabular/dimensions.js';
import { encodeEntities, entitiesPerClass, representativeDimension } from '../../src/tabular/entities.js';
import { equivalenceClasses } from '../../src/tabular/metrics/classes.js';
import { tableFromRows, tableToRows } from '../../src/tabular/table.js';

/** Policies of this file name their entity column `id` / `patient_id`; it is removed unless a test says otherwise. */
function policy(extra: Partial<TabularPolicy> & Pick<TabularPolicy, 'quasiIdentifiers'>): TabularPolicy {
  const identifiers = ['id', 'patient_id'].filter((c) => c === extra.entity).map((column) => ({ column, action: 'remove' as const, keep: 0, optional: false }));
  return { identifiers, sensitive: [], privacy: { k: 2, suppressionLimit: 0 }, otherColumns: 'keep', missingValues: ['', '?', 'NA'], ...extra };
}

/** A seeded cohort of admissions: 1–5 rows per patient, age may move by a year between visits. */
function admissions(patients: number, seed: number): string[][] {
  let state = seed;
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const zips = ['02139', '02140', '02141', '10001', '10002', '94110'];
  const diagnoses = ['flu', 'asthma', 'diabetes', 'copd', 'fracture'];
  const rows: string[][] = [];
  for (let p = 0; p < patients; p++) {
    const age = 20 + next(60);
    const zip = zips[next(zips.length)];
    const sex = next(2) === 0 ? 'F' : 'M';
    const visits = 1 + next(5);
    for (let v = 0; v < visits; v++) rows.push([`MRN${String(p).padStart(5, '0')}`, String(age + (v >> 1)), zip, sex, diagnoses[next(diagnoses.length)]]);
  }
  // interleave patients, as an admissions export would
  for (let i = rows.length - 1; i > 0; i--) {
    const j = next(i + 1);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

const header = ['patient_id', 'age', 'zip', 'sex', 'diagnosis'];
const quasiIdentifiers: TabularPolicy['quasiIdentifiers'] = [
  { column: 'age', type: 'numeric', minLevel: 0 },
  { column: 'zip', type: 'categorical', hierarchy: { masking: { char: '*', from: 'right' } }, minLevel: 0 },
  { column: 'sex', type: 'categorical', minLevel: 0 },
];

/** People per published class, and the classes each person's rows landed in. */
function measure(input: string[][], output: string[][]): { peoplePerClass: Map<string, Set<string>>; classesOfPerson: Map<string, Set<string>> } {
  const peoplePerClass = new Map<string, Set<string>>();
  const classesOfPerson = new Map<string, Set<string>>();
  input.forEach((row, r) => {
    const key = output[r].slice(1, 4).join('|');
    const person = row[0];
    if (!peoplePerClass.has(key)) peoplePerClass.set(key, new Set());
    peoplePerClass.get(key)?.add(person);
    if (!classesOfPerson.has(person)) classesOfPerson.set(person, new Set());
    classesOfPerson.get(person)?.add(key);
  });
  return { peoplePerClass, classesOfPerson };
}

describe('k counted in people (tabular.entity)', () => {
  it('keeps every class at k people and each person in one class, where row-level k does not', () => {
    const rows = admissions(300, 11);
    const table = tableFromRows(header, rows);
    const k = 5;
    const byPerson = anonymizeTable(table, policy({ quasiIdentifiers, entity: 'patient_id', identifiers: [{ column: 'patient_id', action: 'randomize', keep: 0, optional: false }], privacy: { k, l: { variant: 'distinct', l: 2 }, suppressionLimit: 0 }, sensitive: [{ column: 'diagnosis', type: 'categorical' }] }), { baseDir: '.' });
    const out = tableToRows(byPerson.output);
    const { peoplePerClass, classesOfPerson } = measure(rows, out);
    expect(new Set(out.map((row) => row[0])).size).toBe(300);
    expect(out.some((row) => row[0].startsWith('MRN'))).toBe(false);
    const smallest = Math.min(...[...peoplePerClass.values()].map((people) => people.size));
    expect(smallest).toBeGreaterThanOrEqual(k);
    expect([...classesOfPerson.values()].every((classes) => classes.size === 1)).toBe(true);
    // Each published age range covers every age the person had.
    rows.forEach((row, r) => {
      const label = out[r][1];
      const [lo, hi] = label.startsWith('[') ? label.slice(1, -1).split('-').map(Number) : [Number(label), Number(label)];
      expect(Number(row[1])).toBeGreaterThanOrEqual(lo);
      expect(Number(row[1])).toBeLessThanOrEqual(hi);
    });
    const report = byPerson.report;
    expect(report.privacy.k).toEqual({ required: k, achieved: smallest, countedIn: 'people' });
    expect(report.privacy.entity).toEqual({ column: 'patient_id', people: 300 });
    expect(report.privacy.satisfied).toBe(true);
    expect(report.risk.after.prosecutorMax).toBeCloseTo(1 / smallest, 5);
    expect(report.utility.cAvg).toBeCloseTo(300 / peoplePerClass.size / k, 6);

    // The same k over rows lets one person's visits make up a class on their own.
    const byRow = anonymizeTable(table, policy({ quasiIdentifiers, privacy: { k, suppressionLimit: 0 } }), { baseDir: '.' });
    const rowLevel = measure(rows, tableToRows(byRow.output));
    expect(Math.min(...[...rowLevel.peoplePerClass.values()].map((people) => people.size))).toBeLessThan(k);
    expect(byRow.report.privacy.k.countedIn).toBeUndefined();
  });

  it('hand-computed: three people, four rows, k = 2 people', () => {
    const table = tableFromRows(['id', 'age'], [['a', '20'], ['a', '21'], ['b', '30'], ['c', '31']]);
    const { output, report } = anonymizeTable(table, policy({ quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }], entity: 'id' }), { baseDir: '.' });
    // Two parts of ≥ 2 people cannot be made from 3 people: one class.
    expect(tableToRows(output).map((row) => row[1])).toEqual(['[20-31]', '[20-31]', '[20-31]', '[20-31]']);
    expect(report.privacy.k).toEqual({ required: 2, achieved: 3, countedIn: 'people' });
    expect(report.risk.before).toEqual({ prosecutorMax: 1, prosecutorAvg: 1, recordsAtRisk: 4, uniques: 4 });
    expect(report.risk.after).toMatchObject({ recordsAtRisk: 4, uniques: 0 });
    expect(report.risk.after.prosecutorMax).toBeCloseTo(1 / 3, 6);
    expect(report.risk.after.prosecutorAvg).toBeCloseTo(1 / 3, 6);
    expect(report.utility.cAvg).toBe(1.5);
    expect(report.classes.minSize).toBe(4);
  });

  it('refuses a k larger than the number of people, naming the column', () => {
    const table = tableFromRows(['id', 'age'], [['a', '20'], ['a', '21'], ['a', '22'], ['b', '30']]);
    expect(() => anonymizeTable(table, policy({ quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }], entity: 'id', privacy: { k: 3, suppressionLimit: 0 } }), { baseDir: '.' }))
      .toThrow(/k = 3 is larger than the number of people in the table \(2 distinct "id" in 4 records\)/);
  });

  it('errors: unknown column, a quasi-identifier as entity, a record without a person', () => {
    const table = tableFromRows(['id', 'age'], [['a', '20'], ['', '21'], ['b', '30']]);
    const run = (entity: string) => () => anonymizeTable(table, policy({ quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }], entity }), { baseDir: '.' });
    expect(run('patient')).toThrow(expect.objectContaining({ code: 'COLUMN_UNKNOWN', location: expect.objectContaining({ field: 'tabular.entity' }) }));
    expect(run('age')).toThrow(expect.objectContaining({ code: 'POLICY_INVALID', location: expect.objectContaining({ field: 'tabular.entity' }) }));
    // named as the entity but not replaced: the raw id would be published
    expect(() => anonymizeTable(table, { ...policy({ quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }], entity: 'id' }), identifiers: [] }, { baseDir: '.' }))
      .toThrow(/the entity column "id" would be published as it is/);
    expect(() => anonymizeTable(tableFromRows(['id', 'age'], [['a', '20'], ['b', '21']]), { ...policy({ quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }], entity: 'id' }), identifiers: [], otherColumns: 'remove' }, { baseDir: '.' }))
      .not.toThrow();
    let error: unknown;
    try {
      run('id')();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VeilError);
    expect((error as VeilError).message).toMatch(/1 record has no value in the entity column "id"/);
    expect((error as VeilError).location.line).toBe(3);
  });
});

describe('entity helpers', () => {
  const table = tableFromRows(['id', 'age'], [['a', '25'], ['b', '30'], ['a', '20'], ['b', '31'], ['c', '40']]);
  const entities = encodeEntities(table.columns[0], new Set(['']), 'tabular.entity');

  it('every row carries its person\'s smallest code on a dimension', () => {
    const dim: Dimension = { kind: 'ordinal', name: 'age', codes: Int32Array.from([2, 3, 1, 4, 5]), texts: [], cardinality: 6, domainDistinct: 5, valueCodes: Int32Array.from([0, 1, 2, 3, 4]) };
    expect(Array.from(representativeDimension(dim, entities).codes)).toEqual([1, 3, 1, 3, 5]);
    expect(Array.from(dim.codes)).toEqual([2, 3, 1, 4, 5]);
  });

  it('counts distinct people per class', () => {
    const classes = equivalenceClasses(tableFromRows(['g'], [['x'], ['x'], ['x'], ['y'], ['y']]), [0]);
    expect(entities.count).toBe(3);
    expect(Array.from(entitiesPerClass(classes, entities))).toEqual([2, 2]);
  });
});
