import type { ClassStats, PrivacyModel } from './model.js';

/**
 * k-anonymity (Samarati & Sweeney 1998; Sweeney 2002): every equivalence class holds at least
 * k records, so no record is distinguishable from k−1 others on its quasi-identifiers.
 */
export function kAnonymity(k: number): PrivacyModel {
  return {
    id: 'k-anonymity',
    usesSensitive: false,
    description: `${k}-anonymity`,
    accepts: (stats: ClassStats) => stats.size >= k,
    explainTableFailure: (stats: ClassStats) =>
      stats.size >= k ? undefined : `k = ${k} is larger than the table (${stats.size} record${stats.size === 1 ? '' : 's'})`,
  };
}
