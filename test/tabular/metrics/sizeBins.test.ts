import { describe, expect, it } from 'vitest';
import { sizeBins } from '../../../src/tabular/metrics/sizeDistribution.js';

describe('sizeBins', () => {
  it('bins class sizes in widths doubling from k (k…2k−1, 2k…4k−1, …), inclusive bounds, ascending', () => {
    const sizes = new Int32Array([10, 10, 19, 20, 39, 40, 611, 382]);
    expect(sizeBins(sizes, 10)).toEqual([
      { from: 10, to: 19, classes: 3, records: 39 },
      { from: 20, to: 39, classes: 2, records: 59 },
      { from: 40, to: 79, classes: 1, records: 40 },
      { from: 320, to: 639, classes: 2, records: 993 },
    ]);
  });

  it('gives sizes below k (k counted in people) doubling bins below k, and k = 1 plain powers of two', () => {
    expect(sizeBins(new Int32Array([3, 4, 2, 1, 5]), 5)).toEqual([
      { from: 1, to: 1, classes: 1, records: 1 },
      { from: 2, to: 2, classes: 1, records: 2 },
      { from: 3, to: 4, classes: 2, records: 7 },
      { from: 5, to: 9, classes: 1, records: 5 },
    ]);
    expect(sizeBins(new Int32Array([1, 2, 3, 4, 7, 8]), 1).map((b) => [b.from, b.to, b.classes])).toEqual([[1, 1, 1], [2, 3, 2], [4, 7, 2], [8, 15, 1]]);
  });

  it('keeps the number of bins logarithmic in the largest class whatever the number of distinct sizes', () => {
    const sizes = Int32Array.from({ length: 5000 }, (_, i) => 5 + i);
    const bins = sizeBins(sizes, 5);
    expect(bins).toHaveLength(Math.floor(Math.log2(5004 / 5)) + 1);
    expect(bins.reduce((a, b) => a + b.classes, 0)).toBe(5000);
  });
});
