import type { ClassIndex } from './classes.js';

/**
 * Normalized average equivalence class size C_AVG (LeFevre, DeWitt, Ramakrishnan, "Mondrian
 * Multidimensional k-Anonymity", ICDE 2006): (records / classes) / k, over unsuppressed records.
 * 1 is ideal: every class exactly k records.
 */
export function normalizedAverageClassSize(classes: ClassIndex, suppressed: number, rowCount: number, k: number, people?: Int32Array): number {
  if (classes.count === 0 || k <= 0) return 0;
  // When k counts people, so does the average: (people / classes) / k.
  const members = people ? people.reduce((a, b) => a + b, 0) : rowCount - suppressed;
  return members / classes.count / k;
}
