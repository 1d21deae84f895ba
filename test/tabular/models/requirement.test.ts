import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isVeilError } from '../../../src/errors.js';
import type { TabularPolicy } from '../../../src/policy/sections/tabular.js';
import { anonymizeTable } from '../../../src/tabular/anonymize.js';
import { readCsv } from '../../../src/tabular/csv/read.js';
import { kAnonymity } from '../../../src/tabular/models/kAnonymity.js';
import { lDiversity } from '../../../src/tabular/models/lDiversity.js';
import type { ClassStats, SensitiveAttribute } from '../../../src/tabular/models/model.js';
import { tCloseness } from '../../../src/tabular/models/tCloseness.js';
import { tableFromRows, tableToRows } from '../../../src/tabular/table.js';
import { adultDir } from '../../helpers.js';

/**
 * Issue 15: each privacy model names its policy field and reports what the output achieves, and
 * the report's `satisfied` is asked of the models. The classes are rebuilt here from the
 * published rows, independently of the engine's own grouping.
 */
const QIS = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'];

function adultPolicy(): TabularPolicy {
  return {
    identifiers: [],
    quasiIdentifiers: QIS.map((column) =>
      column === 'age'
        ? { column, type: 'numeric' as const, minLevel: 0 }
        : { column, type: 'categorical' as const, hierarchy: join(adultDir, `adult_hierarchy_${column}.csv`), minLevel: 0 },
    ),
    sensitive: [{ column: 'salary-class', type: 'categorical' }],
    privacy: { k: 5, l: { variant: 'distinct', l: 2 }, suppressionLimit: 0.02 },
    otherColumns: 'keep',
    missingValues: ['', '?', 'NA'],
  } as TabularPolicy;
}

describe('privacy models answer for themselves (UCI Adult, k = 5, distinct l = 2)', () => {
  it('k and l name their policy field, and their achieved figures equal the classes of the written rows and the report', async () => {
    const { table } = await readCsv(join(adultDir, 'adult.csv'));
    const { output, report } = anonymizeTable(table, adultPolicy(), { baseDir: adultDir });
    const header = output.columns.map((c) => c.name);
    const qi = QIS.map((q) => header.indexOf(q));
    const salary = header.indexOf('salary-class');
    const salaries = [...new Set(tableToRows(table).map((row) => row[salary]))];

    // Group the published rows by their labels; suppressed rows (all `*`) are in no class.
    const groups = new Map<string, number[]>();
    for (const row of tableToRows(output)) {
      if (qi.every((i) => row[i] === '*')) continue;
      const key = qi.map((i) => row[i]).join('|');
      const counts = groups.get(key) ?? new Array<number>(salaries.length).fill(0);
      counts[salaries.indexOf(row[salary])]++;
      groups.set(key, counts);
    }
    const classes: ClassStats[] = [...groups.values()].map((counts) => ({ size: counts.reduce((a, b) => a + b, 0), counts: [Int32Array.from(counts)] }));
    const smallest = Math.min(...classes.map((c) => c.size));
    const fewestSalaries = Math.min(...[...groups.values()].map((counts) => counts.filter((n) => n > 0).length));
    const attribute: SensitiveAttribute = { name: 'salary-class', cardinality: salaries.length, codes: new Int32Array(0), texts: salaries, distance: { kind: 'equal' } };

    const k = kAnonymity(5).measure(classes);
    expect(k).toEqual({ field: 'tabular.privacy.k', required: 5, achieved: smallest, satisfied: true });
    expect(report.privacy.k.achieved).toBe(smallest);
    expect(kAnonymity(smallest + 1).measure(classes).satisfied).toBe(false);

    const l = lDiversity('distinct', 2, [attribute]).measure(classes);
    expect(l).toEqual({ field: 'tabular.privacy.l', required: 2, achieved: fewestSalaries, satisfied: true });
    expect(report.privacy.l?.achieved).toBe(fewestSalaries);
    expect(lDiversity('distinct', fewestSalaries + 1, [attribute]).measure(classes).satisfied).toBe(false);
    expect(report.privacy.satisfied).toBe(true);
  });

  it('t-closeness reports the farthest class: two pure classes of a 50/50 attribute are at EMD ½', () => {
    const attribute: SensitiveAttribute = { name: 'flu', cardinality: 2, codes: Int32Array.from([0, 0, 1, 1]), texts: ['no', 'yes'], distance: { kind: 'equal' } };
    const global = [Int32Array.from([2, 2])];
    const classes: ClassStats[] = [{ size: 2, counts: [Int32Array.from([2, 0])] }, { size: 2, counts: [Int32Array.from([0, 2])] }];
    expect(tCloseness(0.5, [attribute], global, 4).measure(classes)).toEqual({ field: 'tabular.privacy.t', required: 0.5, achieved: 0.5, satisfied: true });
    expect(tCloseness(0.4, [attribute], global, 4).measure(classes).satisfied).toBe(false);
  });
});

describe('the key is read at the edge, never by the engine', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  const policy: TabularPolicy = {
    identifiers: [{ column: 'id', action: 'pseudonymize', keep: 0, optional: false }],
    quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }],
    sensitive: [],
    privacy: { k: 2, suppressionLimit: 0 },
    otherColumns: 'keep',
    missingValues: [''],
  } as TabularPolicy;
  const table = tableFromRows(['id', 'age'], [['A1', '20'], ['A2', '21'], ['A3', '30'], ['A4', '31']]);

  it('with VEIL_SECRET set but no key passed, a pseudonymizing run fails with SECRET_MISSING', () => {
    vi.stubEnv('VEIL_SECRET', 'a-test-secret-of-enough-length');
    let caught: unknown;
    try {
      anonymizeTable(table, policy, { baseDir: '.' });
    } catch (error) {
      caught = error;
    }
    expect(isVeilError(caught) && caught.code).toBe('SECRET_MISSING');
  });

  it('with the key passed in, it pseudonymizes, and the report has the veil-tabular kind', () => {
    const { output, report } = anonymizeTable(table, policy, { baseDir: '.', secret: Buffer.from('a-test-secret-of-enough-length') });
    const ids = tableToRows(output).map((row) => row[0]);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(['A1', 'A2', 'A3', 'A4']).not.toContain(id);
    expect(report.kind).toBe('veil-tabular');
  });
});
