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
  /** Mean record risk over the records that remain (= classes / records when k counts records). */
  prosecutorAvg: number;
  /** Records whose risk exceeds the threshold. */
  recordsAtRisk: number;
  /** Records alone in their class (sample uniques); with people, records of one-person classes. */
  uniques: number;
}

/**
 * `people[c]`, when given, is the number of distinct people of class c (records grouped by an
 * entity column): the attacker then picks a person, so a record's risk is 1 / people, and the
 * uniques are the records of classes that hold one person.
 */
export function prosecutorRisk(classes: ClassIndex, threshold: number, people?: Int32Array): RiskFigures {
  let records = 0;
  let riskSum = 0;
  let max = 0;
  let atRisk = 0;
  let uniques = 0;
  for (let c = 0; c < classes.count; c++) {
    const size = classes.sizes[c];
    const alike = people ? people[c] : size;
    const risk = 1 / alike;
    records += size;
    riskSum += size * risk;
    if (risk > max) max = risk;
    if (risk > threshold) atRisk += size;
    if (alike === 1) uniques += size;
  }
  return { prosecutorMax: max, prosecutorAvg: records > 0 ? riskSum / records : 0, recordsAtRisk: atRisk, uniques };
}
