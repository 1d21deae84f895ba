import { describe, expect, it } from 'vitest';
import { sizeDistribution } from '../../../src/tabular/metrics/sizeDistribution.js';

describe('sizeDistribution', () => {
  it('counts classes and records per size, sizes above 50 by tens (51-59 apart from 50), in ascending order', () => {
    const sizes = new Int32Array([12, 10, 50, 51, 59, 60, 10, 123, 12, 12]);
    expect(sizeDistribution(sizes)).toEqual([
      { size: '10', classes: 2, records: 20 },
      { size: '12', classes: 3, records: 36 },
      { size: '50', classes: 1, records: 50 },
      { size: '51-59', classes: 2, records: 110 },
      { size: '60-69', classes: 1, records: 60 },
      { size: '120-129', classes: 1, records: 123 },
    ]);
  });

  it('gives no bucket for no class', () => {
    expect(sizeDistribution(new Int32Array(0))).toEqual([]);
  });
});
