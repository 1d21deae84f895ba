import { describe, expect, it } from 'vitest';
import { populationFromSamplingFraction, reidentificationRisks } from '../../../src/tabular/risk/index.js';
import { adultInputClassSizes } from './adultClasses.js';

describe('prosecutor, journalist and marketer risk', () => {
  it('hand-computed case: classes of 1, 2 and 5 records, sampling fraction 0.5', () => {
    const sizes = [1, 2, 5];
    const r = reidentificationRisks(sizes, 0.2, populationFromSamplingFraction(sizes, 0.5));
    expect(r.prosecutor).toEqual({ highest: 1, average: 3 / 8, recordsAbove: 3 });
    // population classes 2, 4, 10
    expect(r.journalist.highest).toBeCloseTo(0.5, 12);
    expect(r.journalist.recordsAbove).toBe(3); // 1/2 and 1/4 are above 0.2
    expect(r.marketer).toBeCloseTo((1 / 2 + 2 / 4 + 5 / 10) / 8, 12);
    expect(r.journalist.average).toBeCloseTo(Math.max(3 / 16, r.marketer), 12);
  });

  it('hand-computed case against a population table; a population smaller than its sample class counts as the sample class', () => {
    const r = reidentificationRisks([1, 2, 5], 0.2, [3, 1, 50]);
    // population sizes used: 3, 2 (clamped), 50
    expect(r.journalist.highest).toBeCloseTo(1 / 2, 12);
    expect(r.marketer).toBeCloseTo((1 / 3 + 2 / 2 + 5 / 50) / 8, 12);
    expect(r.journalist.average).toBeCloseTo(Math.max(3 / 55, r.marketer), 12);
    expect(r.journalist.recordsAbove).toBe(3);
  });

  it('without a population the three models agree: journalist = prosecutor, marketer = classes / records', () => {
    const r = reidentificationRisks([1, 2, 5], 0.2);
    expect(r.journalist).toEqual(r.prosecutor);
    expect(r.marketer).toBeCloseTo(3 / 8, 12);
  });

  it('journalist ≤ prosecutor and marketer ≤ journalist on 500 random samples and populations', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 500; trial++) {
      const sizes = Array.from({ length: 1 + Math.floor(random() * 30) }, () => 1 + Math.floor(random() * 12));
      const population = sizes.map((s) => Math.floor(s * random() * 40)); // some below their sample class
      for (const r of [reidentificationRisks(sizes, 0.2, population), reidentificationRisks(sizes, 0.2, populationFromSamplingFraction(sizes, 0.01 + random()))]) {
        expect(r.journalist.highest).toBeLessThanOrEqual(r.prosecutor.highest + 1e-15);
        expect(r.journalist.average).toBeLessThanOrEqual(r.prosecutor.average + 1e-15);
        expect(r.journalist.recordsAbove).toBeLessThanOrEqual(r.prosecutor.recordsAbove);
        expect(r.marketer).toBeLessThanOrEqual(r.journalist.average + 1e-15);
        expect(r.marketer).toBeLessThanOrEqual(r.journalist.highest + 1e-15);
      }
    }
  });

  it('UCI Adult input (8 QIs), f = 0.01: journalist is f × prosecutor, marketer = f × classes / records', () => {
    const sizes = adultInputClassSizes();
    const r = reidentificationRisks(sizes, 0.2, populationFromSamplingFraction(sizes, 0.01));
    expect(r.prosecutor.highest).toBe(1);
    expect(r.prosecutor.average).toBeCloseTo(18109 / 30162, 12);
    expect(r.journalist.highest).toBeCloseTo(0.01, 12);
    expect(r.marketer).toBeCloseTo((0.01 * 18109) / 30162, 12);
    expect(r.journalist.highest).toBeLessThanOrEqual(r.prosecutor.highest);
    expect(r.marketer).toBeLessThanOrEqual(r.journalist.average + 1e-15);
  });
});
