import type { ClassStats, PrivacyModel, Requirement, SensitiveAttribute } from './model.js';

/**
 * l-diversity (Machanavajjhala, Kifer, Gehrke, Venkitasubramaniam 2007), per sensitive attribute:
 * - distinct: at least l distinct sensitive values in every class;
 * - entropy: the entropy of the class's sensitive distribution is at least log(l);
 * - recursive (c,l): with counts sorted r1 ≥ r2 ≥ … ≥ rm, r1 < c · (r_l + … + r_m).
 * The sensitive values themselves are never changed.
 */
export type LVariant = 'distinct' | 'entropy' | 'recursive';

export function distinctValues(counts: Int32Array): number {
  let distinct = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) distinct++;
  return distinct;
}

export function entropy(counts: Int32Array, size: number): number {
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0) {
      const p = counts[i] / size;
      h -= p * Math.log(p);
    }
  }
  return h;
}

export function isRecursiveDiverse(counts: Int32Array, l: number, c: number): boolean {
  const sorted = Array.from(counts).filter((x) => x > 0).sort((a, b) => b - a);
  if (sorted.length < l) return false;
  let tail = 0;
  for (let i = l - 1; i < sorted.length; i++) tail += sorted[i];
  return sorted[0] < c * tail;
}

/** The largest l for which the class is recursive (c,l)-diverse (0 if none). */
export function largestRecursiveL(counts: Int32Array, c: number): number {
  let l = 0;
  const distinct = distinctValues(counts);
  while (l + 1 <= distinct && isRecursiveDiverse(counts, l + 1, c)) l++;
  return l;
}

export function lDiversity(variant: LVariant, l: number, attributes: readonly SensitiveAttribute[], c = 0): PrivacyModel {
  const test = (counts: Int32Array, size: number): boolean => {
    switch (variant) {
      case 'distinct':
        return distinctValues(counts) >= l;
      case 'entropy':
        // tolerance so that a class exactly at log(l) is accepted despite rounding
        return entropy(counts, size) >= Math.log(l) - 1e-12;
      case 'recursive':
        return isRecursiveDiverse(counts, l, c);
    }
  };
  const label = variant === 'recursive' ? `recursive (${c},${l})-diversity` : `${variant} ${l}-diversity`;
  // The l a class achieves under this variant: distinct values, exp(entropy), or the largest recursive l.
  const achievedIn = (counts: Int32Array, size: number): number => {
    switch (variant) {
      case 'distinct':
        return distinctValues(counts);
      case 'entropy':
        return Math.exp(entropy(counts, size));
      case 'recursive':
        return c > 0 ? largestRecursiveL(counts, c) : 0;
    }
  };
  return {
    id: `l-diversity/${variant}`,
    policyField: 'tabular.privacy.l',
    usesSensitive: true,
    description: label,
    accepts(stats: ClassStats): boolean {
      for (let s = 0; s < stats.counts.length; s++) if (!test(stats.counts[s], stats.size)) return false;
      return true;
    },
    explainTableFailure(stats: ClassStats): string | undefined {
      for (let s = 0; s < stats.counts.length; s++) {
        if (test(stats.counts[s], stats.size)) continue;
        const name = attributes[s]?.name ?? `sensitive attribute ${s + 1}`;
        const distinct = distinctValues(stats.counts[s]);
        if (variant === 'distinct') return `the whole table has only ${distinct} distinct value${distinct === 1 ? '' : 's'} of "${name}", so no class can be ${label}`;
        if (variant === 'entropy') return `the whole table's distribution of "${name}" has entropy exp(H) = ${Math.exp(entropy(stats.counts[s], stats.size)).toFixed(3)} < ${l}, so no class can be ${label}`;
        return `the whole table's distribution of "${name}" is not ${label} (its most frequent value dominates)`;
      }
      return undefined;
    },
    measure(classes: readonly ClassStats[]): Requirement {
      // The worst class of the worst attribute; with no class left, 0 (nothing is diverse).
      let achieved = Infinity;
      for (let s = 0; s < attributes.length; s++) {
        let worst = Infinity;
        for (const stats of classes) worst = Math.min(worst, achievedIn(stats.counts[s], stats.size));
        achieved = Math.min(achieved, classes.length === 0 ? 0 : worst);
      }
      return { field: 'tabular.privacy.l', required: l, achieved, satisfied: achieved >= l - 1e-9 };
    },
  };
}
