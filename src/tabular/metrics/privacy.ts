import { emd } from '../models/emd.js';
import { distinctValues, entropy, largestRecursiveL } from '../models/lDiversity.js';
import type { ClassStats, SensitiveAttribute } from '../models/model.js';
import type { ClassIndex } from './classes.js';

/** What the output actually guarantees, measured class by class (never copied from the policy). */
export interface MeasuredSensitive {
  column: string;
  lDistinct: number;
  /** min over classes of exp(entropy), natural log. */
  lEntropy: number;
  /** Largest l for which every class is recursive (c,l)-diverse with the policy's c (0 if none). */
  lRecursive: number;
  /** max over classes of the EMD to the whole table's distribution (all rows, suppressed included). */
  t: number;
  distance: 'equal' | 'ordered' | 'hierarchical';
}

export function classStats(classes: ClassIndex, sensitive: readonly SensitiveAttribute[], rowCount: number): ClassStats[] {
  const stats: ClassStats[] = Array.from({ length: classes.count }, (_, c) => ({
    size: classes.sizes[c],
    counts: sensitive.map((s) => new Int32Array(s.cardinality)),
  }));
  for (let r = 0; r < rowCount; r++) {
    const c = classes.classOf[r];
    if (c < 0) continue;
    for (let s = 0; s < sensitive.length; s++) (stats[c].counts[s] as Int32Array)[sensitive[s].codes[r]]++;
  }
  return stats;
}

export function measureSensitive(stats: readonly ClassStats[], sensitive: readonly SensitiveAttribute[], rowCount: number, recursiveC: number): MeasuredSensitive[] {
  return sensitive.map((attribute, s) => {
    const globalCounts = new Int32Array(attribute.cardinality);
    for (let r = 0; r < rowCount; r++) globalCounts[attribute.codes[r]]++;
    const global = Float64Array.from(globalCounts, (x) => x / rowCount);
    let lDistinct = Infinity;
    let lEntropy = Infinity;
    let lRecursive = Infinity;
    let t = 0;
    for (const cls of stats) {
      const counts = cls.counts[s];
      lDistinct = Math.min(lDistinct, distinctValues(counts));
      lEntropy = Math.min(lEntropy, Math.exp(entropy(counts, cls.size)));
      t = Math.max(t, emd(counts, cls.size, global, attribute));
      if (recursiveC > 0) lRecursive = Math.min(lRecursive, largestRecursiveL(counts, recursiveC));
    }
    const none = stats.length === 0;
    return {
      column: attribute.name,
      lDistinct: none ? 0 : lDistinct,
      lEntropy: none ? 0 : lEntropy,
      lRecursive: none || recursiveC <= 0 ? 0 : lRecursive,
      t,
      distance: attribute.distance.kind,
    };
  });
}
