/**
 * Prosecutor, journalist and marketer re-identification risk, as defined by El Emam
 * (Guide to the De-Identification of Personal Health Information, CRC Press 2013, ch. 13–15;
 * El Emam & Dankar, "Protecting privacy using k-anonymity", JAMIA 15(5), 2008) and computed by
 * ARX (Prasser et al., Softw Pract Exper 50(7), 2020):
 *
 * - prosecutor: the attacker knows the person is in the published sample and picks one record
 *   of the matching class: risk 1 / |class in sample|;
 * - journalist: the attacker only knows the person is in a population the sample was drawn
 *   from, and matches them against it: risk 1 / |matching class in population|. The population
 *   class is counted in a population table or, with a sampling fraction f only, estimated as
 *   |class in sample| / f;
 * - marketer: the attacker re-identifies as many records as they can; the expected share
 *   re-identified is Σ_c |class c in sample| / |class c in population| / n, which is
 *   (number of classes) / n when the population is the sample.
 *
 * A population class always holds at least its sample class (the sample is drawn from it), so
 * population sizes are clamped to the sample sizes. Journalist ≤ prosecutor then holds record
 * by record, and marketer ≤ journalist average holds because the journalist average is, as in
 * ARX, the larger of (classes / Σ population sizes) and the marketer risk.
 */
export interface RiskSummary {
  /** Highest record risk. */
  highest: number;
  /** Average record risk. */
  average: number;
  /** Records whose risk exceeds the threshold. */
  recordsAbove: number;
}

export interface ReidentificationRisks {
  prosecutor: RiskSummary;
  journalist: RiskSummary;
  /** Expected share of the records a marketer re-identifies. */
  marketer: number;
}

/**
 * `sampleSizes[c]`: records (or people) of class c in the published table;
 * `populationSizes[c]`: the matching population class (omit when the population is the sample).
 * Suppressed records belong to no class and carry no risk.
 */
export function reidentificationRisks(sampleSizes: ArrayLike<number>, threshold: number, populationSizes?: ArrayLike<number>): ReidentificationRisks {
  let n = 0;
  let classes = 0;
  let populationTotal = 0;
  let pMax = 0;
  let jMax = 0;
  let pAbove = 0;
  let jAbove = 0;
  let marketerSum = 0;
  for (let c = 0; c < sampleSizes.length; c++) {
    const s = sampleSizes[c];
    if (s <= 0) continue;
    const p = Math.max(s, populationSizes ? populationSizes[c] : s);
    n += s;
    classes++;
    populationTotal += p;
    pMax = Math.max(pMax, 1 / s);
    jMax = Math.max(jMax, 1 / p);
    if (1 / s > threshold) pAbove += s;
    if (1 / p > threshold) jAbove += s;
    marketerSum += s / p;
  }
  if (n === 0) {
    const none = { highest: 0, average: 0, recordsAbove: 0 };
    return { prosecutor: none, journalist: { ...none }, marketer: 0 };
  }
  // Averages over the records that remain published in a class.
  const marketer = marketerSum / n;
  return {
    prosecutor: { highest: pMax, average: classes / n, recordsAbove: pAbove },
    journalist: { highest: jMax, average: Math.max(classes / populationTotal, marketer), recordsAbove: jAbove },
    marketer,
  };
}

/** Population class sizes estimated from a sampling fraction f: |class| / f (El Emam 2013, §14). */
export function populationFromSamplingFraction(sampleSizes: ArrayLike<number>, samplingFraction: number): Float64Array {
  return Float64Array.from(sampleSizes as ArrayLike<number>, (s) => s / samplingFraction);
}
