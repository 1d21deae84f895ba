import type { ClassStats, PrivacyModel, Requirement } from './model.js';

/**
 * k-anonymity (Samarati & Sweeney 1998; Sweeney 2002): every equivalence class holds at least
 * k records, so no record is distinguishable from k−1 others on its quasi-identifiers. With an
 * entity column, k counts the distinct people of a class instead of its records.
 */
export function kAnonymity(k: number, entityColumn?: string): PrivacyModel {
  const units = (stats: ClassStats): number => stats.entities ?? stats.size;
  return {
    id: 'k-anonymity',
    policyField: 'tabular.privacy.k',
    usesSensitive: false,
    description: entityColumn ? `${k}-anonymity (people: distinct "${entityColumn}")` : `${k}-anonymity`,
    accepts: (stats: ClassStats) => units(stats) >= k,
    explainTableFailure: (stats: ClassStats) => {
      const count = units(stats);
      if (count >= k) return undefined;
      return entityColumn
        ? `k = ${k} is larger than the number of people in the table (${count} distinct "${entityColumn}" in ${stats.size} records)`
        : `k = ${k} is larger than the table (${count} record${count === 1 ? '' : 's'})`;
    },
    measure(classes: readonly ClassStats[]): Requirement {
      // No class left means every record was suppressed: nothing is published to single out.
      if (classes.length === 0) return { field: 'tabular.privacy.k', required: k, achieved: null, satisfied: true };
      let smallest = Infinity;
      for (const stats of classes) smallest = Math.min(smallest, units(stats));
      return { field: 'tabular.privacy.k', required: k, achieved: smallest, satisfied: smallest >= k };
    },
  };
}
