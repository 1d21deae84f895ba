import { describe, expect, it } from 'vitest';
import type { HierarchicalDimension, NumericDimension, OrdinalDimension } from '../../../src/tabular/dimensions.js';
import { hierarchyFromPaths } from '../../../src/tabular/hierarchy/hierarchy.js';
import { equivalenceClasses } from '../../../src/tabular/metrics/classes.js';
import { ncpPerAttribute } from '../../../src/tabular/metrics/ncp.js';
import { publishedLossPerAttribute } from '../../../src/tabular/metrics/publishedLoss.js';
import { tableFromRows } from '../../../src/tabular/table.js';

/** Classes given as one class id per row; -1 is a suppressed row. */
function classIndex(classOf: number[]) {
  const skip = Uint8Array.from(classOf, (c) => (c < 0 ? 1 : 0));
  return equivalenceClasses(tableFromRows(['class'], classOf.map((c) => [String(Math.max(c, 0))])), [0], skip);
}

describe('loss on the published labels, hand-computed', () => {
  // * → A → {a1, a2}, * → B → {b1, b2}; leaves a1, a2, b1, b2 are codes 0 … 3
  const hierarchy = hierarchyFromPaths([['a1', 'A', '*'], ['a2', 'A', '*'], ['b1', 'B', '*'], ['b2', 'B', '*']], { file: 'h.csv' });
  const leaf = (label: string) => hierarchy.leafIndex.get(label) as number;

  it('charges each cell the share of leaves under its published node, counts the root and `*` by meaning', () => {
    const values = ['a1', 'a1', 'a1', 'b1', 'a2', 'a1', 'b2'];
    const classOf = [0, 0, 1, 1, 2, 2, -1];
    const codes = Int32Array.from(values, leaf);
    const dim: HierarchicalDimension = { kind: 'hierarchical', name: 'h', codes, valueCodes: codes, cardinality: 4, domainDistinct: 4, hierarchy };
    const loss = publishedLossPerAttribute(dim, classIndex(classOf), 1, values.length);
    // class 0 → a1 (0), class 1 → * (1, the root), class 2 → A ((2−1)/(4−1)); the suppressed row costs 1
    expect(loss.genILoss).toBeCloseTo((1 + 2 * 0 + 2 * 1 + 2 * (1 / 3)) / 7, 10);
    // NCP on labels: 0 for a single leaf, leaves / all otherwise
    expect(loss.ncp).toBeCloseTo((1 + 0 + 2 * (4 / 4) + 2 * (2 / 4)) / 7, 10);
    expect(loss).toMatchObject({ column: 'h', atRoot: 2, suppressed: 1, star: { suppressedRecord: 1, hierarchyRoot: 2 } });
    // the observed NCP of class 1 counts its 2 distinct values, not the root it is published as
    expect(ncpPerAttribute(dim, classIndex(classOf), 1, values.length)).toBeCloseTo((1 + 2 * (1 / 3) + 2 * (1 / 3)) / 7, 10);
  });

  it('counts original leaves where a minimum level merged them (weights)', () => {
    // after truncation at level 1 the leaves are A and B, standing for 3 and 1 original values
    const top = hierarchyFromPaths([['A', '*'], ['B', '*']], { file: 'h.csv' });
    const codes = Int32Array.from([0, 0, 0, 1]);
    const dim: HierarchicalDimension = { kind: 'hierarchical', name: 'h', codes, valueCodes: Int32Array.from([0, 1, 2, 3]), cardinality: 2, domainDistinct: 4, hierarchy: top, leafWeights: Int32Array.from([3, 1]) };
    const loss = publishedLossPerAttribute(dim, classIndex([0, 0, 0, 0]), 0, 4);
    expect(loss.genILoss).toBeCloseTo(1, 10);
    const apart = publishedLossPerAttribute(dim, classIndex([0, 0, 0, 1]), 0, 4);
    // A covers 3 of 4 original values: (3 − 1)/(4 − 1); B one value: 0
    expect(apart.genILoss).toBeCloseTo((3 * (2 / 3)) / 4, 10);
    expect(apart.ncp).toBeCloseTo((3 * (3 / 4)) / 4, 10);
    expect(apart.atRoot).toBe(0);
  });

  it('numbers: interval width over the range; a full-range interval is at the root but never a `*`', () => {
    const numbers = [20, 30, 40, 60];
    const dim: NumericDimension = {
      kind: 'numeric', name: 'age', codes: Int32Array.from([0, 1, 2, 3]), valueCodes: Int32Array.from([0, 1, 2, 3]), cardinality: 4, domainDistinct: 4,
      values: Float64Array.from(numbers), texts: numbers.map(String), domainMin: 20, domainMax: 60,
    };
    const loss = publishedLossPerAttribute(dim, classIndex([0, 0, 1, 1]), 0, 4);
    expect(loss.genILoss).toBeCloseTo((2 * (10 / 40) + 2 * (20 / 40)) / 4, 10);
    expect(loss.ncp).toBeCloseTo(loss.genILoss, 10);
    const whole = publishedLossPerAttribute(dim, classIndex([0, 0, 0, 0]), 0, 4);
    expect(whole).toMatchObject({ genILoss: 1, atRoot: 4, star: { suppressedRecord: 0, hierarchyRoot: 0 } });
  });

  it('categories without hierarchy: values in the published set over all values', () => {
    const dim: OrdinalDimension = { kind: 'ordinal', name: 'city', codes: Int32Array.from([0, 1, 2, 2]), valueCodes: Int32Array.from([0, 1, 2, 2]), cardinality: 3, domainDistinct: 3, texts: ['Bern', 'Paris', 'Rome'] };
    const loss = publishedLossPerAttribute(dim, classIndex([0, 0, 1, 1]), 0, 4);
    // {Bern,Paris}: (2 − 1)/(3 − 1) and 2/3; Rome alone: 0
    expect(loss.genILoss).toBeCloseTo((2 * 0.5) / 4, 10);
    expect(loss.ncp).toBeCloseTo((2 * (2 / 3)) / 4, 10);
    expect(publishedLossPerAttribute(dim, classIndex([0, 0, 0, 0]), 0, 4).atRoot).toBe(4);
  });
});
