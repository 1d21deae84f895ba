/**
 * Special functions the uniqueness models need, in double precision.
 * logGamma: Lanczos approximation (g = 7, 9 coefficients; Press et al., Numerical Recipes,
 * 3rd ed., §6.1), relative error below 1e-14 for x > 0.
 */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  if (x < 0.5) {
    // reflection: Γ(x)Γ(1−x) = π / sin(πx)
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln C(a, b) for reals a ≥ b ≥ 0. */
export function logChoose(a: number, b: number): number {
  return logGamma(a + 1) - logGamma(b + 1) - logGamma(a - b + 1);
}

/**
 * Hypergeometric probability of drawing exactly one of the `successes` marked items when
 * `draws` items are drawn without replacement from `population`: K·C(N−K, n−1) / C(N, n),
 * computed as K · (n/N) · Π_{j=1}^{K−1} (1 − (n−1)/(N−j)) in logs (log1p), which keeps full
 * precision where differences of log-gammas near ln N! would lose digits.
 */
export function hypergeometricOne(population: number, successes: number, draws: number): number {
  const N = population;
  const K = successes;
  const n = draws;
  if (K < 1 || n < 1 || K > N || n > N) return 0;
  if (n - 1 > N - K) return 0;
  let log = Math.log(K) + Math.log(n) - Math.log(N);
  for (let j = 1; j < K; j++) {
    const keep = (n - 1) / (N - j);
    if (keep >= 1) return 0;
    log += Math.log1p(-keep);
  }
  return Math.exp(log);
}
