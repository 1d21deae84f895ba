import { classesOfSize, sizeHistogram } from './histogram.js';
import { pitmanUniques } from './pitman.js';
import { snbUniques } from './snb.js';
import { zayatzUniques } from './zayatz.js';

/**
 * Sample and population uniqueness of a published table, given the sampling fraction f (the
 * population holds n / f records). Population uniques are estimated with three models and
 * Dankar et al.'s decision rule picks one ("Estimating the re-identification risk of clinical
 * data sets", BMC Med Inform Decis Mak 12:66, 2012): for f ≤ 0.1 Pitman's model, falling back
 * to Zayatz's when Pitman's has no solution; for f > 0.1 the smaller of Zayatz's and the SNB
 * model (Zayatz's alone when SNB has no solution). No sample unique means no population unique.
 */
export type UniquenessModel = 'pitman' | 'zayatz' | 'snb' | 'none';

export interface UniquenessEstimates {
  samplingFraction: number;
  /** Records of the sample (people, with an entity column) and the population size n / f. */
  sampleSize: number;
  populationSize: number;
  /** Records alone in their class, and their share of the sample. */
  sampleUniques: number;
  sampleUniqueness: number;
  /** Population uniques per model (null when the model has no solution), as shares of the population. */
  pitman: number | null;
  zayatz: number | null;
  snb: number | null;
  /** The decision rule's choice and its estimate. */
  dankar: { model: UniquenessModel; populationUniqueness: number };
}

export function uniquenessEstimates(classSizes: ArrayLike<number>, samplingFraction: number): UniquenessEstimates {
  const h = sizeHistogram(classSizes);
  const n = h.records;
  const N = n / samplingFraction;
  const f1 = classesOfSize(h, 1);
  const share = (x: number): number | null => (Number.isFinite(x) && x >= 0 && N > 0 ? x / N : null);
  const base = { samplingFraction, sampleSize: n, populationSize: N, sampleUniques: f1, sampleUniqueness: n > 0 ? f1 / n : 0 };
  if (f1 === 0) return { ...base, pitman: 0, zayatz: 0, snb: 0, dankar: { model: 'none', populationUniqueness: 0 } };
  const pitman = share(pitmanUniques(h, N).uniques);
  const zayatz = share(zayatzUniques(h, N));
  const snb = samplingFraction < 1 ? share(snbUniques(h, samplingFraction).uniques) : share(f1);
  const valid = (x: number | null): x is number => x !== null && x > 0;
  let dankar: UniquenessEstimates['dankar'];
  if (samplingFraction <= 0.1) {
    dankar = valid(pitman) ? { model: 'pitman', populationUniqueness: pitman } : { model: 'zayatz', populationUniqueness: zayatz ?? 0 };
  } else if (valid(snb) && (zayatz === null || snb <= zayatz)) {
    dankar = { model: 'snb', populationUniqueness: snb };
  } else {
    dankar = { model: 'zayatz', populationUniqueness: zayatz ?? 0 };
  }
  return { ...base, pitman, zayatz, snb, dankar };
}
