import type { ClassIndex } from './classes.js';

/**
 * Re-identification risk under the prosecutor model (El Emam & Dankar, "Protecting Privacy Using
 * k-Anonymity", JAMIA 2008): an attacker who knows a person is in the data and knows their
 * quasi-identifiers picks one record of the matching class, so a record's risk is 1 / |class|.
 * Suppressed records match no class and carry no risk.
 */
export interface RiskFigures {
  /** Highest record risk. */
  prosecutorMax: number;
  /** Mean record risk over the records that remain (= classes / records). */
  prosecutorAvg: number;
  /** Records whose risk exceeds the threshold. */
  recordsAtRisk: number;
  /** Records alone in their class (sample uniques). */
  uniques: number;
}

export function prosecutorRisk(classes: ClassIndex, threshold: number): RiskFigures {
  let records = 0;
  let max = 0;
  let atRisk = 0;
  let uniques = 0;
  for (let c = 0; c < classes.count; c++) {
    const size = classes.sizes[c];
    const risk = 1 / size;
    records += size;
    if (risk > max) max = risk;
    if (risk > threshold) atRisk += size;
    if (size === 1) uniques++;
  }
  return { prosecutorMax: max, prosecutorAvg: records > 0 ? classes.count / records : 0, recordsAtRisk: atRisk, uniques };
}
