import type { ClassIndex } from './classes.js';

/**
 * Normalized average equivalence class size C_AVG (LeFevre, DeWitt, Ramakrishnan, "Mondrian
 * Multidimensional k-Anonymity", ICDE 2006): (records / classes) / k, over unsuppressed records.
 * 1 is ideal: every class exactly k records.
 */
export function normalizedAverageClassSize(classes: ClassIndex, suppressed: number, rowCount: number, k: number): number {
  if (classes.count === 0 || k <= 0) return 0;
  return (rowCount - suppressed) / classes.count / k;
}
