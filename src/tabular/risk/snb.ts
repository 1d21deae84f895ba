import type { SizeHistogram } from './histogram.js';

/**
 * Population uniques under the slide negative binomial model (G. Chen, S. Keller-McNulty,
 * "Estimation of identification disclosure risk in microdata", J. Official Statistics 14(1),
 * 1998).
 *
 * The K non-empty population classes have sizes F = 1 + NB(α, β):
 *   P(F = j) = C(α + j − 2, j − 1) β^α (1 − β)^{j−1},  j ≥ 1,
 * and each record is sampled with probability f. With x = (1 − β)(1 − f), summing the series
 * gives the expected numbers of sample classes of size 1 and 2:
 *   E f_1 = K f (β / (1 − x))^α (1 + αx / (1 − x)),
 *   E f_2 = K α β^α f² (1 − β) (1 − x)^{−(α+2)} (2 − (1 − α)x) / 2.
 * α and β are found by solving E f_1 = f_1, E f_2 = f_2 (Newton's method with step halving, on
 * ln α and logit β so the constraints α > 0, 0 < β < 1 always hold), and the population holds
 * K · P(F = 1) = K β^α uniques. K is estimated with Shlosser's estimator in the refined form
 * of Haas, Naughton, Seshadri & Stokes ("Sampling-based estimation of the number of distinct
 * values of an attribute", VLDB 1995, D̂_Sh3).
 */
export interface SnbFit {
  alpha: number;
  beta: number;
  /** Estimated number of non-empty population classes. */
  populationClasses: number;
  uniques: number;
}

export function expectedSampleClasses(K: number, alpha: number, beta: number, f: number): [number, number] {
  const x = (1 - beta) * (1 - f);
  const f1 = K * f * Math.pow(beta / (1 - x), alpha) * (1 + (alpha * x) / (1 - x));
  const f2 = (K * alpha * Math.pow(beta, alpha) * f * f * (1 - beta) * Math.pow(1 - x, -(alpha + 2)) * (2 - (1 - alpha) * x)) / 2;
  return [f1, f2];
}

/** Shlosser's estimate of the number of distinct classes in the population, Haas et al.'s D̂_Sh3. */
export function shlosserClasses(h: SizeHistogram, f: number): number {
  const q = f;
  let a = 0; // Σ i q² (1 − q²)^{i−1} f_i
  let b = 0; // Σ (1 − q)^i ((1 + q)^i − 1) f_i
  let c = 0; // Σ (1 − q)^i f_i
  let d = 0; // Σ i q (1 − q)^{i−1} f_i
  for (let s = 0; s < h.sizes.length; s++) {
    const i = h.sizes[s];
    const fi = h.counts[s];
    a += i * q * q * Math.pow(1 - q * q, i - 1) * fi;
    b += Math.pow(1 - q, i) * (Math.pow(1 + q, i) - 1) * fi;
    c += Math.pow(1 - q, i) * fi;
    d += i * q * Math.pow(1 - q, i - 1) * fi;
  }
  const f1 = h.sizes[0] === 1 ? h.counts[0] : 0;
  if (f1 === 0 || b === 0 || d === 0) return h.classes;
  return h.classes + f1 * (a / b) * (c / d) ** 2;
}

export function snbUniques(h: SizeHistogram, samplingFraction: number): SnbFit {
  const f = samplingFraction;
  const f1 = h.sizes[0] === 1 ? h.counts[0] : 0;
  const f2 = h.sizes[0] === 2 ? h.counts[0] : h.sizes[1] === 2 ? h.counts[1] : 0;
  const K = shlosserClasses(h, f);
  const fail = { alpha: NaN, beta: NaN, populationClasses: K, uniques: NaN };
  if (f1 === 0 || f2 === 0 || f >= 1) return fail;
  const fit = fitSnb(K, f, f1, f2);
  if (!fit) return fail;
  const uniques = K * Math.pow(fit.beta, fit.alpha);
  return { ...fit, populationClasses: K, uniques: Number.isFinite(uniques) ? uniques : NaN };
}

/** Solves E f_1 = f1, E f_2 = f2 for (α, β); undefined when no root is found. */
export function fitSnb(K: number, f: number, f1: number, f2: number): { alpha: number; beta: number } | undefined {
  // Residuals relative to the targets, over (s, t) = (ln α, logit β).
  const residual = (s: number, t: number): [number, number] => {
    const [e1, e2] = expectedSampleClasses(K, Math.exp(s), 1 / (1 + Math.exp(-t)), f);
    return [e1 / f1 - 1, e2 / f2 - 1];
  };
  const norm = (r: [number, number]) => Math.hypot(r[0], r[1]);
  let best: { s: number; t: number; r: number } | undefined;
  // A few starting points: the equations have one root but Newton needs to start near it.
  for (const s0 of [0, -2, 2]) {
    for (const t0 of [0, -4, 4]) {
      let s = s0;
      let t = t0;
      let r = residual(s, t);
      for (let iteration = 0; iteration < 100 && Number.isFinite(norm(r)) && norm(r) > 1e-12; iteration++) {
        const e = 1e-6;
        const rs = residual(s + e, t);
        const rt = residual(s, t + e);
        const j11 = (rs[0] - r[0]) / e;
        const j21 = (rs[1] - r[1]) / e;
        const j12 = (rt[0] - r[0]) / e;
        const j22 = (rt[1] - r[1]) / e;
        const det = j11 * j22 - j12 * j21;
        if (!Number.isFinite(det) || det === 0) break;
        const ds = -(j22 * r[0] - j12 * r[1]) / det;
        const dt = -(j11 * r[1] - j21 * r[0]) / det;
        let step = 1;
        let next = r;
        while (step > 1e-10) {
          next = residual(s + step * ds, t + step * dt);
          if (Number.isFinite(norm(next)) && norm(next) < norm(r)) break;
          step /= 2;
        }
        if (step <= 1e-10) break;
        s += step * ds;
        t += step * dt;
        r = next;
      }
      if (Number.isFinite(norm(r)) && (!best || norm(r) < best.r)) best = { s, t, r: norm(r) };
    }
  }
  if (!best || best.r > 1e-6) return undefined;
  return { alpha: Math.exp(best.s), beta: 1 / (1 + Math.exp(-best.t)) };
}
