import type { ClassIndex } from './classes.js';

/**
 * Discernibility metric DM (Bayardo & Agrawal, "Data Privacy through Optimal k-Anonymization",
 * ICDE 2005): every record is charged the size of its class, a suppressed record the size of the
 * table: Σ |E|² + n · suppressed.
 */
export function discernibility(classes: ClassIndex, suppressed: number, rowCount: number): number {
  let dm = 0;
  for (let c = 0; c < classes.count; c++) dm += classes.sizes[c] * classes.sizes[c];
  return dm + rowCount * suppressed;
}
