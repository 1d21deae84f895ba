import { describe, expect, it } from 'vitest';
import { dateLabel, datePaths, parseDate } from '../../../src/tabular/hierarchy/builders/dates.js';
import { intervalPaths } from '../../../src/tabular/hierarchy/builders/intervals.js';
import { maskingPaths } from '../../../src/tabular/hierarchy/builders/masking.js';
import { treePaths } from '../../../src/tabular/hierarchy/builders/tree.js';
import { hierarchyFromPaths, truncateHierarchy } from '../../../src/tabular/hierarchy/hierarchy.js';

describe('hierarchy builders', () => {
  it('masks ZIP codes one digit per level', () => {
    expect(maskingPaths(['02139', '02142'], { char: '*', from: 'right' })).toEqual([
      ['02139', '0213*', '021**', '02***', '0****', '*****', '*'],
      ['02142', '0214*', '021**', '02***', '0****', '*****', '*'],
    ]);
    const h = hierarchyFromPaths(maskingPaths(['02139', '02142', '10001'], { char: '*', from: 'right' }), {});
    expect(h.leafCount).toBe(3);
  });

  it('builds nested integer intervals', () => {
    const paths = intervalPaths(['3', '7', '12'], [3, 7, 12], { width: 5, start: 0, fanout: 2, levels: 2 });
    expect(paths).toEqual([
      ['3', '[0-4]', '[0-9]', '*'],
      ['7', '[5-9]', '[0-9]', '*'],
      ['12', '[10-14]', '[10-19]', '*'],
    ]);
  });

  it('uses half-open labels for non-integer data', () => {
    expect(intervalPaths(['0.5'], [0.5], { width: 2.5, start: 0, fanout: 2, levels: 1 })[0]).toEqual(['0.5', '[0-2.5)', '*']);
  });

  it('bins dates by calendar fields (no off-by-one at quarter, year and decade edges)', () => {
    const cases: [string, string, string, string, string][] = [
      ['2019-03-31', '2019-03', '2019-Q1', '2019', '2010s'],
      ['2019-04-01', '2019-04', '2019-Q2', '2019', '2010s'],
      ['2019-12-31', '2019-12', '2019-Q4', '2019', '2010s'],
      ['2020-01-01', '2020-01', '2020-Q1', '2020', '2020s'],
      ['2000-02-29', '2000-02', '2000-Q1', '2000', '2000s'],
    ];
    for (const [text, month, quarter, year, decade] of cases) {
      const date = parseDate(text);
      expect(date).toBeDefined();
      if (!date) continue;
      expect([dateLabel(date, 'month'), dateLabel(date, 'quarter'), dateLabel(date, 'year'), dateLabel(date, 'decade')]).toEqual([month, quarter, year, decade]);
    }
    expect(parseDate('20190331')).toEqual({ year: 2019, month: 3, day: 31 });
    expect(parseDate('2019-02-30')).toBeUndefined();
    expect(parseDate('31.03.2019')).toBeUndefined();
    // a time of day may follow; anything else is not a date (a leaf is published as its text)
    expect(parseDate('2019-03-31T14:05')).toEqual({ year: 2019, month: 3, day: 31 });
    expect(parseDate('2019-03-31 14:05:59.123+01:00')).toEqual({ year: 2019, month: 3, day: 31 });
    expect(parseDate('2019-03-31T23:59:59Z')).toEqual({ year: 2019, month: 3, day: 31 });
    expect(parseDate('2020-01-01 free text')).toBeUndefined();
    expect(parseDate('9999-12-31T25:61')).toBeUndefined();
    expect(parseDate('2019-03-31T')).toBeUndefined();
    expect(datePaths(['2019-03-31'], [{ year: 2019, month: 3, day: 31 }], ['year', 'month'])).toEqual([['2019-03-31', '2019-03', '2019', '*']]);
  });

  it('turns an inline tree into equal-depth paths', () => {
    const paths = treePaths({ '*': { Europe: ['France', 'Germany'], Other: null } }, {});
    expect(paths).toEqual([
      ['France', 'Europe', '*'],
      ['Germany', 'Europe', '*'],
      ['Other', 'Other', '*'],
    ]);
  });

  it('truncates a hierarchy at a minimum level', () => {
    const h = hierarchyFromPaths(maskingPaths(['02139', '02142', '10001'], { char: '*', from: 'right' }), {});
    const { hierarchy, leafOf, leafWeights } = truncateHierarchy(h, 2);
    expect([...hierarchy.leafIndex.keys()].sort()).toEqual(['021**', '100**']);
    expect(hierarchy.labels[hierarchy.leafNodes[leafOf(h.leafIndex.get('02139') as number)]]).toBe('021**');
    expect(Array.from(leafWeights).sort()).toEqual([1, 2]);
  });
});
