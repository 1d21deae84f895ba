import { describe, expect, it } from 'vitest';
import { anonymizeTable } from '../../../src/tabular/anonymize.js';
import { tableFromRows, tableToRows } from '../../../src/tabular/table.js';
import type { TabularPolicy } from '../../../src/policy/sections/tabular.js';

function policy(extra: Partial<TabularPolicy> & Pick<TabularPolicy, 'quasiIdentifiers'>): TabularPolicy {
  return { identifiers: [], sensitive: [], privacy: { k: 2, suppressionLimit: 0 }, otherColumns: 'keep', missingValues: ['', '?', 'NA'], ...extra };
}

describe('metrics on hand-computed tables', () => {
  it('numeric ranges: NCP, GenILoss, DM, C_AVG and risk', () => {
    const table = tableFromRows(['age', 'sex'], [['20', 'M'], ['21', 'M'], ['30', 'F'], ['31', 'F']]);
    const { output, report } = anonymizeTable(table, policy({
      quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }, { column: 'sex', type: 'categorical', minLevel: 0 }],
    }), { baseDir: '.' });
    expect(tableToRows(output)).toEqual([['[20-21]', 'M'], ['[20-21]', 'M'], ['[30-31]', 'F'], ['[30-31]', 'F']]);
    // age: every record's class spans 1 of the column's 11 years; sex: no loss
    expect(report.utility.perAttribute[0].ncp).toBeCloseTo(1 / 11, 6);
    expect(report.utility.perAttribute[0].genILoss).toBeCloseTo(1 / 11, 6);
    expect(report.utility.perAttribute[1].ncp).toBe(0);
    expect(report.utility.ncp).toBeCloseTo(1 / 22, 6);
    expect(report.utility.dm).toBe(8);
    expect(report.utility.cAvg).toBe(1);
    expect(report.risk.before).toEqual({ prosecutorMax: 1, prosecutorAvg: 1, recordsAtRisk: 4, uniques: 4 });
    expect(report.risk.after).toEqual({ prosecutorMax: 0.5, prosecutorAvg: 0.5, recordsAtRisk: 4, uniques: 0 });
    expect(report.privacy.k).toEqual({ required: 2, achieved: 2 });
  });

  it('categorical generalization to a hierarchy node costs a full category', () => {
    const table = tableFromRows(['age', 'sex'], [['20', 'M'], ['21', 'F'], ['30', 'M'], ['31', 'F']]);
    const { output, report } = anonymizeTable(table, policy({
      quasiIdentifiers: [
        { column: 'age', type: 'numeric', minLevel: 0 },
        { column: 'sex', type: 'categorical', hierarchy: { tree: { '*': ['M', 'F'] } }, minLevel: 0 },
      ],
    }), { baseDir: '.' });
    // age and sex tie on width; age is tried first, then sex cannot split classes of two
    expect(tableToRows(output)).toEqual([['[20-21]', '*'], ['[20-21]', '*'], ['[30-31]', '*'], ['[30-31]', '*']]);
    expect(report.utility.perAttribute[1]).toMatchObject({ column: 'sex', ncp: 1, genILoss: 1 });
    expect(report.utility.ncp).toBeCloseTo((1 / 11 + 1) / 2, 6);
    expect(report.utility.dm).toBe(8);
  });

  it('ordinal categories without a hierarchy are published as sets', () => {
    const table = tableFromRows(['city', 'x'], [['Berlin', '1'], ['Bern', '1'], ['Paris', '1'], ['Rome', '1']]);
    const { output, report } = anonymizeTable(table, policy({ quasiIdentifiers: [{ column: 'city', type: 'categorical', minLevel: 0 }] }), { baseDir: '.' });
    expect(tableToRows(output).map((r) => r[0])).toEqual(['{Berlin,Bern}', '{Berlin,Bern}', '{Paris,Rome}', '{Paris,Rome}']);
    expect(report.utility.ncp).toBeCloseTo(1 / 3, 6);
  });

  it('l-diversity and t-closeness are measured on the output', () => {
    const rows = [
      ['20', 'flu'], ['21', 'flu'], ['22', 'cold'], ['23', 'cold'],
      ['40', 'flu'], ['41', 'cold'], ['42', 'flu'], ['43', 'cold'],
    ];
    const { report } = anonymizeTable(tableFromRows(['age', 'disease'], rows), policy({
      quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }],
      sensitive: [{ column: 'disease', type: 'categorical' }],
      privacy: { k: 2, l: { variant: 'distinct', l: 2 }, t: { t: 0.1 }, suppressionLimit: 0 },
    }), { baseDir: '.' });
    expect(report.privacy.l?.achieved).toBe(2);
    expect(report.privacy.t?.achieved).toBeLessThanOrEqual(0.1);
    expect(report.privacy.satisfied).toBe(true);
    // 20–23 (flu, flu, cold, cold) cannot split: {20,21} is not 2-diverse, {20,21,22} is 1/6 from
    // the table; 40–43 (flu, cold, flu, cold) splits into two diverse pairs
    expect(report.classes.count).toBe(3);
    expect(report.classes.sizeDistribution).toEqual([{ size: '2', classes: 2, records: 4 }, { size: '4', classes: 1, records: 4 }]);
  });
});
