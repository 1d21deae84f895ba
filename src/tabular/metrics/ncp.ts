import type { Dimension } from '../dimensions.js';
import type { ClassIndex } from './classes.js';

/**
 * Normalized Certainty Penalty (Xu, Wang, Pei, Wang, Shi, Fu, "Utility-Based Anonymization
 * Using Local Recoding", KDD 2006), measured from the ORIGINAL values of each class's rows:
 * numeric (max − min in class) / (max − min in column); categorical (distinct in class − 1) /
 * (distinct in column − 1). A suppressed record costs 1 per cell. Returned per attribute as the
 * mean over all records — the same definition as the independent evaluator's NCP_observed.
 */
export function ncpPerAttribute(dim: Dimension, classes: ClassIndex, suppressed: number, rowCount: number): number {
  const { classOf, sizes, count } = classes;
  let total = suppressed;
  if (dim.kind === 'numeric') {
    const span = dim.domainMax - dim.domainMin;
    if (span > 0) {
      const lo = new Float64Array(count).fill(Infinity);
      const hi = new Float64Array(count).fill(-Infinity);
      for (let r = 0; r < rowCount; r++) {
        const c = classOf[r];
        if (c < 0) continue;
        const x = dim.values[dim.codes[r]];
        if (Number.isNaN(x)) continue;
        if (x < lo[c]) lo[c] = x;
        if (x > hi[c]) hi[c] = x;
      }
      for (let c = 0; c < count; c++) if (hi[c] >= lo[c]) total += (sizes[c] * (hi[c] - lo[c])) / span;
    }
  } else if (dim.domainDistinct > 1) {
    const distinct = distinctPerClass(dim.valueCodes, classes, rowCount);
    for (let c = 0; c < count; c++) total += (sizes[c] * (distinct[c] - 1)) / (dim.domainDistinct - 1);
  }
  return rowCount > 0 ? total / rowCount : 0;
}

/** Number of distinct codes in each class (one pass over the rows grouped by class). */
export function distinctPerClass(codes: Int32Array, classes: ClassIndex, _rowCount?: number): Int32Array {
  let maxCode = 0;
  for (let i = 0; i < classes.order.length; i++) if (codes[classes.order[i]] > maxCode) maxCode = codes[classes.order[i]];
  const seenIn = new Int32Array(maxCode + 1).fill(-1);
  const distinct = new Int32Array(classes.count);
  for (let c = 0; c < classes.count; c++) {
    for (let i = classes.starts[c]; i < classes.starts[c + 1]; i++) {
      const code = codes[classes.order[i]];
      if (seenIn[code] !== c) {
        seenIn[code] = c;
        distinct[c]++;
      }
    }
  }
  return distinct;
}
