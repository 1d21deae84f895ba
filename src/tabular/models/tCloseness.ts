import { emd } from './emd.js';
import type { ClassStats, PrivacyModel, Requirement, SensitiveAttribute } from './model.js';

/**
 * t-closeness (Li, Li, Venkatasubramanian 2007): in every class, the distribution of each
 * sensitive attribute is within Earth Mover's Distance t of its distribution in the whole table.
 */
export function tCloseness(t: number, attributes: readonly SensitiveAttribute[], globalCounts: readonly Int32Array[], rowCount: number): PrivacyModel {
  const global = globalCounts.map((counts) => Float64Array.from(counts, (c) => c / rowCount));
  return {
    id: 't-closeness',
    policyField: 'tabular.privacy.t',
    usesSensitive: true,
    description: `${t}-closeness`,
    accepts(stats: ClassStats): boolean {
      for (let s = 0; s < attributes.length; s++) {
        if (emd(stats.counts[s], stats.size, global[s], attributes[s]) > t + 1e-12) return false;
      }
      return true;
    },
    // The whole table is at distance 0 from itself.
    explainTableFailure: () => undefined,
    measure(classes: readonly ClassStats[]): Requirement {
      // The farthest class of any attribute; with no class left, 0.
      let achieved = 0;
      for (let s = 0; s < attributes.length; s++) {
        for (const stats of classes) achieved = Math.max(achieved, emd(stats.counts[s], stats.size, global[s], attributes[s]));
      }
      return { field: 'tabular.privacy.t', required: t, achieved, satisfied: achieved <= t + 1e-9 };
    },
  };
}

