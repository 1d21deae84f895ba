import type { Dimension } from '../dimensions.js';
import { lowestCoveringNode } from '../hierarchy/hierarchy.js';
import type { ClassIndex } from './classes.js';
import { distinctPerClass } from './ncp.js';

/**
 * Generalized Information Loss, the loss metric LM of Iyengar ("Transforming Data to Satisfy
 * Privacy Constraints", KDD 2002): per cell, numeric (U − L) / (U_A − L_A) of the generalized
 * interval; categorical (M − 1) / (|A| − 1) where M is the number of hierarchy leaves under the
 * generalized node (or values in the `{a,b}` set) and |A| all leaves (or the column's distinct
 * values). A suppressed cell costs 1. Returned per attribute as the mean over all records.
 */
export function genILossPerAttribute(dim: Dimension, classes: ClassIndex, suppressed: number, rowCount: number): number {
  const { classOf, sizes, count } = classes;
  let total = suppressed;
  const lo = new Int32Array(count).fill(0x7fffffff);
  const hi = new Int32Array(count).fill(-1);
  for (let r = 0; r < rowCount; r++) {
    const c = classOf[r];
    if (c < 0) continue;
    const code = dim.codes[r];
    if (code < lo[c]) lo[c] = code;
    if (code > hi[c]) hi[c] = code;
  }
  if (dim.kind === 'numeric') {
    const span = dim.domainMax - dim.domainMin;
    for (let c = 0; c < count; c++) {
      let top = hi[c];
      // the missing code ranks last and has no number
      if (Number.isNaN(dim.values[top])) top = Math.max(lo[c], top - 1);
      const width = Number.isNaN(dim.values[lo[c]]) ? 0 : dim.values[top] - dim.values[lo[c]];
      if (span > 0) total += (sizes[c] * Math.max(0, width)) / span;
    }
  } else if (dim.kind === 'hierarchical') {
    const h = dim.hierarchy;
    // Leaves of the full domain before position i (weights > 1 when a minimum level merged leaves).
    const before = new Float64Array(h.leafCount + 1);
    for (let i = 0; i < h.leafCount; i++) before[i + 1] = before[i] + (dim.leafWeights ? dim.leafWeights[i] : 1);
    const all = before[h.leafCount];
    if (all > 1) {
      for (let c = 0; c < count; c++) {
        const node = lowestCoveringNode(h, lo[c], hi[c]);
        total += (sizes[c] * (before[h.leafEnd[node]] - before[h.leafStart[node]] - 1)) / (all - 1);
      }
    }
  } else if (dim.domainDistinct > 1) {
    const distinct = distinctPerClass(dim.codes, classes, rowCount);
    for (let c = 0; c < count; c++) total += (sizes[c] * (distinct[c] - 1)) / (dim.domainDistinct - 1);
  }
  return rowCount > 0 ? total / rowCount : 0;
}
