import { describe, expect, it } from 'vitest';
import { emd } from '../../../src/tabular/models/emd.js';
import { kAnonymity } from '../../../src/tabular/models/kAnonymity.js';
import { lDiversity } from '../../../src/tabular/models/lDiversity.js';
import type { SensitiveAttribute } from '../../../src/tabular/models/model.js';
import { ModelRegistry } from '../../../src/tabular/models/registry.js';
import { tCloseness } from '../../../src/tabular/models/tCloseness.js';
import { hierarchyFromPaths } from '../../../src/tabular/hierarchy/hierarchy.js';

const counts = (...xs: number[]) => Int32Array.from(xs);
const attribute = (cardinality: number, distance: SensitiveAttribute['distance'] = { kind: 'equal' }): SensitiveAttribute => ({
  name: 'disease',
  cardinality,
  codes: new Int32Array(0),
  texts: [],
  distance,
});
const stats = (...xs: number[]) => ({ size: xs.reduce((a, b) => a + b, 0), counts: [counts(...xs)] });

describe('k-anonymity', () => {
  it('accepts classes of at least k records', () => {
    const model = kAnonymity(5);
    expect(model.accepts({ size: 4, counts: [] })).toBe(false);
    expect(model.accepts({ size: 5, counts: [] })).toBe(true);
    expect(model.explainTableFailure({ size: 3, counts: [] })).toMatch(/larger than the table \(3 records\)/);
  });
});

describe('l-diversity', () => {
  it('distinct: counts the distinct sensitive values', () => {
    const model = lDiversity('distinct', 2, [attribute(3)]);
    expect(model.accepts(stats(3, 0, 2))).toBe(true);
    expect(model.accepts(stats(5, 0, 0))).toBe(false);
  });

  it('entropy: exp(H) ≥ l', () => {
    const model = lDiversity('entropy', 2, [attribute(2)]);
    expect(model.accepts(stats(2, 2))).toBe(true); // H = ln 2
    expect(model.accepts(stats(3, 1))).toBe(false); // exp(H) ≈ 1.755
  });

  it('recursive (c,l): r1 < c · (r_l + … + r_m)', () => {
    expect(lDiversity('recursive', 2, [attribute(3)], 2).accepts(stats(3, 2, 1))).toBe(true); // 3 < 2·3
    expect(lDiversity('recursive', 2, [attribute(2)], 2).accepts(stats(5, 1))).toBe(false); // 5 ≥ 2·1
    expect(lDiversity('recursive', 3, [attribute(3)], 1).accepts(stats(3, 2, 1))).toBe(false); // 3 ≥ 1·1
  });

  it('applies to every sensitive attribute at once', () => {
    const model = lDiversity('distinct', 2, [attribute(2), attribute(2)]);
    expect(model.accepts({ size: 4, counts: [counts(2, 2), counts(4, 0)] })).toBe(false);
    expect(model.accepts({ size: 4, counts: [counts(2, 2), counts(3, 1)] })).toBe(true);
  });

  it('explains why a whole table cannot be diverse', () => {
    expect(lDiversity('distinct', 2, [attribute(2)]).explainTableFailure(stats(9, 0))).toMatch(/only 1 distinct value of "disease"/);
  });
});

describe("t-closeness and Earth Mover's Distance", () => {
  it('ordered distance reproduces the example of Li et al. 2007', () => {
    const global = new Float64Array(9).fill(1 / 9);
    // salaries 3k…11k; P1 = {3k,4k,5k}, P2 = {6k,8k,11k}
    expect(emd(counts(1, 1, 1, 0, 0, 0, 0, 0, 0), 3, global, attribute(9, { kind: 'ordered' }))).toBeCloseTo(0.375, 10);
    expect(emd(counts(0, 0, 0, 1, 0, 1, 0, 0, 1), 3, global, attribute(9, { kind: 'ordered' }))).toBeCloseTo(1 / 6, 10);
  });

  it('equal distance is half the L1 distance', () => {
    expect(emd(counts(1, 0), 1, Float64Array.of(0.5, 0.5), attribute(2))).toBeCloseTo(0.5, 12);
    expect(emd(counts(1, 1), 2, Float64Array.of(0.5, 0.5), attribute(2))).toBe(0);
  });

  it('hierarchical distance weighs moves by the level of the common ancestor', () => {
    // * → A{a1,a2}, B{b1,b2}; everything on a1 vs uniform: 0.125 inside A + 0.5 across the root
    const h = hierarchyFromPaths([['a1', 'A', '*'], ['a2', 'A', '*'], ['b1', 'B', '*'], ['b2', 'B', '*']], {});
    const tree = { kind: 'hierarchical' as const, parent: h.parent, level: h.level, leafNodes: h.leafNodes, height: h.height, nodeCount: h.labels.length };
    const a1 = h.leafIndex.get('a1') as number;
    const c = new Int32Array(4);
    c[a1] = 4;
    expect(emd(c, 4, new Float64Array(4).fill(0.25), attribute(4, tree))).toBeCloseTo(0.625, 12);
  });

  it('t-closeness accepts classes within t of the table', () => {
    const model = tCloseness(0.2, [attribute(2)], [counts(50, 50)], 100);
    expect(model.accepts(stats(6, 4))).toBe(true); // EMD 0.1
    expect(model.accepts(stats(8, 2))).toBe(false); // EMD 0.3
  });
});

describe('model registry', () => {
  it('refuses the same model twice', () => {
    const registry = new ModelRegistry().add(kAnonymity(2));
    expect(() => registry.add(kAnonymity(3))).toThrow(/already registered/);
  });
});
