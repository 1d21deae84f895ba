import { describe, expect, it } from 'vitest';
import { attributeDisclosure } from '../../../src/tabular/metrics/disclosure.js';
import type { ClassStats, SensitiveAttribute } from '../../../src/tabular/models/model.js';

const salary: SensitiveAttribute = { name: 'salary', cardinality: 2, codes: new Int32Array(0), texts: ['<=50K', '>50K'], distance: { kind: 'equal' } };
const cls = (...counts: number[]): ClassStats => ({ size: counts.reduce((a, b) => a + b, 0), counts: [Int32Array.from(counts)] });

describe('attributeDisclosure', () => {
  it("lists classes where one value holds ≥ 90%: count, records, worst dominant:rest ratio and the highest probability (the issue's 382:1 and 249:1 classes)", () => {
    const [d] = attributeDisclosure([cls(382, 1), cls(1, 249), cls(9, 1), cls(8, 2), cls(5, 5)], [salary]);
    expect(d.column).toBe('salary');
    expect(d.highest).toBeCloseTo(382 / 383, 10);
    // 382:1, 1:249 and 9:1 (exactly 90%) are skewed; 8:2 is 80%
    expect(d.skewed).toEqual({ threshold: 0.9, classes: 3, records: 383 + 250 + 10, worstRatio: 382, worstClassSize: 383 });
  });

  it('reports a class with one value only as an unbounded ratio (null), and no skewed class as 0', () => {
    expect(attributeDisclosure([cls(10, 0), cls(3, 3)], [salary])[0].skewed).toMatchObject({ classes: 1, records: 10, worstRatio: null, worstClassSize: 10 });
    const none = attributeDisclosure([cls(3, 3), cls(4, 6)], [salary])[0];
    expect(none.highest).toBeCloseTo(0.6, 10);
    expect(none.skewed).toMatchObject({ classes: 0, records: 0, worstRatio: 0, worstClassSize: 0 });
  });
});
