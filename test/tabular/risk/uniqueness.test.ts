import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectedSampleClasses, fitSnb, hypergeometricOne, logGamma, pitmanExpectedUniques, pitmanLogLikelihood, pitmanUniques,
  shlosserClasses, sizeHistogram, uniquenessEstimates, zayatzUniques,
} from '../../../src/tabular/risk/index.js';
import { adultInputClassSizes } from './adultClasses.js';

describe('special functions', () => {
  it('log-gamma and the hypergeometric probability of one draw, by hand', () => {
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(1e6)).toBeCloseTo(1e6 * Math.log(1e6) - 1e6 - 0.5 * Math.log(1e6) + 0.5 * Math.log(2 * Math.PI) + 1 / 12e6, 5);
    // N = 10, K = 2 marked, n = 3 drawn: 2 · C(8,2) / C(10,3) = 56 / 120
    expect(hypergeometricOne(10, 2, 3)).toBeCloseTo(56 / 120, 13);
    expect(hypergeometricOne(10, 1, 3)).toBeCloseTo(3 / 10, 13);
  });
});

describe('Zayatz (1991)', () => {
  it('hand-computed: classes {1, 1, 2}, n = 4, N = 8', () => {
    // H(1; 8, 1, 4) = 1/2, H(1; 8, 2, 4) = 4/7; P = (2/3 · 1/2) / (2/3 · 1/2 + 1/3 · 4/7) = 7/11
    // population uniques = f1 · P / f = 2 · 7/11 / 0.5
    expect(zayatzUniques(sizeHistogram([1, 1, 2]), 8)).toBeCloseTo(28 / 11, 12);
  });
});

describe('SNB (Chen & McNulty 1998)', () => {
  it('the closed forms of E f1 and E f2 equal the sums of their series', () => {
    for (const [alpha, beta, f] of [[0.7, 0.3, 0.2], [2.5, 0.05, 0.01], [0.1, 0.6, 0.5]]) {
      let e1 = 0;
      let e2 = 0;
      let pj = Math.pow(beta, alpha); // P(F = 1)
      for (let j = 1; j < 200000; j++) {
        e1 += pj * j * f * Math.pow(1 - f, j - 1);
        e2 += pj * ((j * (j - 1)) / 2) * f * f * Math.pow(1 - f, j - 2);
        pj *= ((alpha + j - 1) / j) * (1 - beta); // P(F = j+1) from P(F = j)
      }
      const [c1, c2] = expectedSampleClasses(1000, alpha, beta, f);
      expect(c1 / (1000 * e1)).toBeCloseTo(1, 9);
      expect(c2 / (1000 * e2)).toBeCloseTo(1, 9);
    }
  });

  it('the solver finds the (α, β) that produced f1 and f2', () => {
    const [f1, f2] = expectedSampleClasses(5000, 0.4, 0.2, 0.1);
    const fit = fitSnb(5000, 0.1, f1, f2);
    expect(fit?.alpha).toBeCloseTo(0.4, 6);
    expect(fit?.beta).toBeCloseTo(0.2, 6);
  });

  it("Shlosser's estimate of the population classes (Haas et al. D_Sh3), by hand: classes {1, 1, 2}, q = 0.5", () => {
    // a = 0.875, b = 0.8125, c = 1.25, d = 1.5
    expect(shlosserClasses(sizeHistogram([1, 1, 2]), 0.5)).toBeCloseTo(3 + 2 * (0.875 / 0.8125) * (1.25 / 1.5) ** 2, 12);
  });
});

describe('Pitman (1996) / Hoshino (2001)', () => {
  it('expected uniques by hand: θ = 1, α = 1/2, N = 100 gives Γ(2)/Γ(1.5) · 10', () => {
    expect(pitmanExpectedUniques(1, 0.5, 100)).toBeCloseTo(10 / (Math.sqrt(Math.PI) / 2), 10);
  });

  it('the fit is the maximum of the likelihood found by a grid search', () => {
    const h = sizeHistogram([...Array<number>(20).fill(1), 2, 2, 2, 3, 10, 25]);
    const fit = pitmanUniques(h, 1000);
    let best = { l: -Infinity, t: 0, a: 0 };
    for (let t = 0.01; t < 4; t += 0.01) {
      for (let a = 0.002; a < 1; a += 0.002) {
        const l = pitmanLogLikelihood(h, t, a);
        if (l > best.l) best = { l, t, a };
      }
    }
    expect(pitmanLogLikelihood(h, fit.theta, fit.alpha)).toBeGreaterThanOrEqual(best.l - 1e-9);
    expect(Math.abs(fit.theta - best.t)).toBeLessThan(0.02);
    expect(Math.abs(fit.alpha - best.a)).toBeLessThan(0.004);
    expect(fit.uniques).toBeCloseTo(pitmanExpectedUniques(fit.theta, fit.alpha, 1000), 9);
  });

  it('has no estimate when the likelihood peaks at α = 0 (few uniques, no heavy tail)', () => {
    expect(Number.isNaN(pitmanUniques(sizeHistogram([1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 5, 1, 1, 4, 2]), 1000).uniques)).toBe(true);
  });

  it('has no estimate without any class of 2 or more', () => {
    expect(Number.isNaN(pitmanUniques(sizeHistogram([1, 1, 1]), 100).uniques)).toBe(true);
  });
});

describe("Dankar et al. (2012)'s decision rule", () => {
  const sizes = adultInputClassSizes();
  it('f ≤ 0.1 takes Pitman; f > 0.1 takes the smaller of Zayatz and SNB; no sample unique means none', () => {
    const low = uniquenessEstimates(sizes, 0.01);
    expect(low.dankar).toEqual({ model: 'pitman', populationUniqueness: low.pitman });
    const high = uniquenessEstimates(sizes, 0.5);
    expect(high.dankar.populationUniqueness).toBe(Math.min(high.zayatz ?? Infinity, high.snb ?? Infinity));
    expect(uniquenessEstimates([2, 3, 5], 0.5).dankar).toEqual({ model: 'none', populationUniqueness: 0 });
    // Pitman without a solution falls back to Zayatz
    const fallback = uniquenessEstimates([1, 1, 1], 0.05);
    expect(fallback.pitman).toBeNull();
    expect(fallback.dankar.model).toBe('zayatz');
  });

  it('sample uniqueness on UCI Adult input: 14,021 records alone in their class out of 30,162', () => {
    const e = uniquenessEstimates(sizes, 0.01);
    expect(e.sampleUniques).toBe(14021);
    expect(e.sampleUniqueness).toBeCloseTo(14021 / 30162, 12);
    expect(e.populationSize).toBeCloseTo(3016200, 6);
  });
});

describe('UCI Adult (8 QIs, input) against an independent computation (scipy: other numerical methods)', () => {
  it('Pitman, Zayatz and SNB agree to 1e-6 relative at f = 0.01, 0.1 and 0.5', () => {
    const fractions = [0.01, 0.1, 0.5];
    const sizes = adultInputClassSizes();
    const run = spawnSync('python3', [join(import.meta.dirname, 'independent_uniqueness.py')], { input: JSON.stringify({ sizes, fractions }), encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const reference = JSON.parse(run.stdout) as Record<string, { pitman: number; zayatz: number; snb: number }>;
    for (const f of fractions) {
      const ours = uniquenessEstimates(sizes, f);
      const ref = reference[String(f)];
      expect(Math.abs((ours.pitman ?? NaN) / ref.pitman - 1)).toBeLessThan(1e-6);
      expect(Math.abs((ours.zayatz ?? NaN) / ref.zayatz - 1)).toBeLessThan(1e-6);
      expect(Math.abs((ours.snb ?? NaN) / ref.snb - 1)).toBeLessThan(1e-6);
    }
  }, 120_000);
});
