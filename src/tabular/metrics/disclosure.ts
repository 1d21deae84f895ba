import type { ClassStats, SensitiveAttribute } from '../models/model.js';

/**
 * Attribute disclosure: distinct l-diversity only asks for l different sensitive values in a
 * class, so a class of 382 `<=50K` and 1 `>50K` passes l = 2 — yet anyone placed in it has
 * `<=50K` with probability 382/383. What an attacker who finds a person's class learns is the
 * share of the class's most frequent sensitive value (Machanavajjhala et al., "l-Diversity:
 * Privacy Beyond k-Anonymity", ICDE 2006, the homogeneity and skewness attacks).
 * Counts and shares only: the dominant value itself is never reported.
 */
export interface AttributeDisclosure {
  column: string;
  /** Highest share of one sensitive value in a class: the attacker's best guess probability. */
  highest: number;
  /** Classes in which one value holds at least `threshold` of the records. */
  skewed: {
    threshold: number;
    classes: number;
    records: number;
    /** Largest dominant : rest ratio among those classes (e.g. 382 for 382:1); null when a class holds one value only. */
    worstRatio: number | null;
    /** Size of the class with the worst ratio (0 when there is none). */
    worstClassSize: number;
  };
}

export const SKEW_THRESHOLD = 0.9;

export function attributeDisclosure(stats: readonly ClassStats[], sensitive: readonly SensitiveAttribute[], threshold = SKEW_THRESHOLD): AttributeDisclosure[] {
  return sensitive.map((attribute, s) => {
    let highest = 0;
    let classes = 0;
    let records = 0;
    let worstRatio = -1;
    let worstClassSize = 0;
    for (const cls of stats) {
      if (cls.size === 0) continue;
      const counts = cls.counts[s];
      let top = 0;
      for (let v = 0; v < counts.length; v++) if (counts[v] > top) top = counts[v];
      const p = top / cls.size;
      if (p > highest) highest = p;
      if (p < threshold) continue;
      classes++;
      records += cls.size;
      const rest = cls.size - top;
      const ratio = rest === 0 ? Infinity : top / rest;
      if (ratio > worstRatio || (ratio === worstRatio && cls.size > worstClassSize)) {
        worstRatio = ratio;
        worstClassSize = cls.size;
      }
    }
    return {
      column: attribute.name,
      highest,
      skewed: { threshold, classes, records, worstRatio: classes === 0 ? 0 : Number.isFinite(worstRatio) ? worstRatio : null, worstClassSize },
    };
  });
}
