import type { SizeHistogram } from './histogram.js';
import { hypergeometricOne } from './special.js';

/**
 * Population uniques after Zayatz ("Estimation of the percent of unique population elements on
 * a microdata file using the sample", Bureau of the Census SRD Report CENSUS/SRD/RR-91/08, 1991).
 *
 * The sample's class-size distribution stands in for the population's: a population class has
 * size i with probability f_i / u. The chance that a sample unique comes from a population
 * unique is, by Bayes' rule with hypergeometric sampling of n records out of N,
 *   P = (f_1/u) · H(1; N, 1, n) / Σ_i (f_i/u) · H(1; N, i, n),
 * where H(1; N, i, n) is the probability that exactly one member of a class of i is drawn.
 * The population then holds about f_1 · P / (n/N) uniques.
 */
export function zayatzUniques(h: SizeHistogram, populationSize: number): number {
  const n = h.records;
  const u = h.classes;
  const f1 = h.sizes[0] === 1 ? h.counts[0] : 0;
  if (f1 === 0 || u === 0) return 0;
  const N = Math.round(populationSize);
  let denominator = 0;
  for (let s = 0; s < h.sizes.length; s++) denominator += (h.counts[s] / u) * hypergeometricOne(N, h.sizes[s], n);
  if (!(denominator > 0)) return NaN;
  const conditional = ((f1 / u) * hypergeometricOne(N, 1, n)) / denominator;
  return (f1 * conditional) / (n / N);
}
