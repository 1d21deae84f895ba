import type { SizeHistogram } from './histogram.js';
import { logGamma } from './special.js';

/**
 * Population uniques under Pitman's two-parameter sampling formula (Pitman, "Some developments
 * of the Blackwell-MacQueen urn scheme", IMS Lecture Notes 30, 1996), as applied to disclosure
 * risk by Hoshino ("Applying Pitman's sampling formula to microdata disclosure risk
 * assessment", J. Official Statistics 17(4), 2001).
 *
 * With u classes of sizes m_1 … m_u in a sample of n records, the likelihood of (θ, α) is
 *   L = Π_{i=1}^{u−1} (θ + iα) / Π_{i=1}^{n−1} (θ + i) · Π_j Π_{k=1}^{m_j−1} (k − α),
 * maximized here by Newton's method on the score with step halving on ln L (θ > −α, 0 < α < 1).
 * The expected number of population uniques in a population of N is then
 *   Γ(θ + 1) / Γ(θ + α) · N^α.
 * Returns NaN when the likelihood has no interior maximum (e.g. no class of size 2 or more).
 */
export interface PitmanFit {
  theta: number;
  alpha: number;
  /** Estimated population uniques (records alone in their population class). */
  uniques: number;
}

export function pitmanUniques(h: SizeHistogram, populationSize: number): PitmanFit {
  const u = h.classes;
  const n = h.records;
  const fail = { theta: NaN, alpha: NaN, uniques: NaN };
  if (u < 2 || n <= u) return fail;

  const logLikelihood = (t: number, a: number): number => pitmanLogLikelihood(h, t, a);
  const scoreAndHessian = (t: number, a: number) => {
    let gT = 0;
    let gA = 0;
    let hTT = 0;
    let hTA = 0;
    let hAA = 0;
    for (let i = 1; i < u; i++) {
      const d = 1 / (t + i * a);
      gT += d;
      gA += i * d;
      hTT -= d * d;
      hTA -= i * d * d;
      hAA -= i * i * d * d;
    }
    for (let i = 1; i < n; i++) {
      const d = 1 / (t + i);
      gT -= d;
      hTT += d * d;
    }
    let inner1 = 0;
    let inner2 = 0;
    let k = 1;
    for (let s = 0; s < h.sizes.length; s++) {
      for (; k < h.sizes[s]; k++) {
        inner1 += 1 / (k - a);
        inner2 += 1 / ((k - a) * (k - a));
      }
      gA -= h.counts[s] * inner1;
      hAA -= h.counts[s] * inner2;
    }
    return { gT, gA, hTT, hTA, hAA };
  };

  let [t, a] = initialGuess(h);
  let current = logLikelihood(t, a);
  if (!Number.isFinite(current)) {
    [t, a] = [1, 0.5];
    current = logLikelihood(t, a);
  }
  for (let iteration = 0; iteration < 200; iteration++) {
    const { gT, gA, hTT, hTA, hAA } = scoreAndHessian(t, a);
    const det = hTT * hAA - hTA * hTA;
    // Newton step when the Hessian is negative definite, else a gradient step.
    let dT: number;
    let dA: number;
    if (hTT < 0 && det > 0) {
      dT = -(hAA * gT - hTA * gA) / det;
      dA = -(hTT * gA - hTA * gT) / det;
    } else {
      dT = gT;
      dA = gA * 1e-3;
    }
    let step = 1;
    let next = -Infinity;
    while (step > 1e-12) {
      next = logLikelihood(t + step * dT, a + step * dA);
      if (next >= current) break;
      step /= 2;
    }
    if (step <= 1e-12) break;
    t += step * dT;
    a += step * dA;
    const moved = Math.abs(step * dT) / (1 + Math.abs(t)) + Math.abs(step * dA);
    current = next;
    if (moved < 1e-12) break;
  }
  const { gT, gA } = scoreAndHessian(t, a);
  if (!(Math.abs(gT) < 1e-6 * (1 + Math.abs(t)) && Math.abs(gA) < 1e-4 * n) || !(a > 1e-9)) return fail;
  const uniques = pitmanExpectedUniques(t, a, populationSize);
  return { theta: t, alpha: a, uniques: uniques >= 0 && uniques <= populationSize ? uniques : NaN };
}

/** Expected population uniques under Pitman's formula (Hoshino 2001): Γ(θ + 1) / Γ(θ + α) · N^α. */
export function pitmanExpectedUniques(theta: number, alpha: number, populationSize: number): number {
  return Math.exp(logGamma(theta + 1) - logGamma(theta + alpha) + alpha * Math.log(populationSize));
}

/** ln L(θ, α) of Pitman's sampling formula for a sample (exported for tests and checks). */
export function pitmanLogLikelihood(h: SizeHistogram, theta: number, alpha: number): number {
  const u = h.classes;
  const n = h.records;
  if (!(alpha > 0 && alpha < 1 && theta > -alpha)) return -Infinity;
  let l = 0;
  for (let i = 1; i < u; i++) l += Math.log(theta + i * alpha);
  for (let i = 1; i < n; i++) l -= Math.log(theta + i);
  let inner = 0;
  let k = 1;
  for (let s = 0; s < h.sizes.length; s++) {
    for (; k < h.sizes[s]; k++) inner += Math.log(k - alpha);
    l += h.counts[s] * inner;
  }
  return l;
}

/**
 * Starting values from u, n, f_1 and f_2 (the ones ARX starts its solver from):
 * c = f_1(f_1 − 1)/f_2, θ₀ = (nuc − f_1(n−1)(2u + c)) / (2f_1u + f_1c − nc),
 * α₀ = (θ₀(f_1 − n) + (n−1)f_1) / (nu). Newton only needs them near the maximum; when they
 * are outside the parameter space the search starts from θ = 1, α = 1/2.
 */
function initialGuess(h: SizeHistogram): [number, number] {
  const n = h.records;
  const u = h.classes;
  const f1 = h.sizes[0] === 1 ? h.counts[0] : 0;
  const f2raw = h.sizes[0] === 2 ? h.counts[0] : h.sizes[1] === 2 ? h.counts[1] : 0;
  const f2 = f2raw > 0 ? f2raw : 1;
  const c = (f1 * (f1 - 1)) / f2;
  const t = (n * u * c - f1 * (n - 1) * (2 * u + c)) / (2 * f1 * u + f1 * c - n * c);
  const a = (t * (f1 - n) + (n - 1) * f1) / (n * u);
  return [t, a];
}
