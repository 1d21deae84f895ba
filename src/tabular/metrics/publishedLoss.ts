import type { Dimension } from '../dimensions.js';
import { lowestCoveringNode } from '../hierarchy/hierarchy.js';
import { SUPPRESSED } from '../recode.js';
import type { ClassIndex } from './classes.js';
import { distinctPerClass } from './ncp.js';

/**
 * Loss measured on the LABELS a reader gets, per quasi-identifier — unlike the observed NCP
 * (ncp.ts), which measures how spread the original values of a class are and so stays small
 * when a class of one month is published as `*`.
 *
 * Per cell, the published label covers a share of the attribute's domain:
 * - numeric: width of the published interval / width of the column's range;
 * - hierarchical: leaves under the published node (original leaves, before any minimum level
 *   merged them) against all leaves;
 * - categorical without hierarchy: values in the published `{a,b}` set against all values.
 *
 * Two per-cell losses from it, means over all records (a suppressed cell costs 1 in both):
 * - genILoss: Iyengar's (M − 1) / (|A| − 1) for categories, the width share for numbers
 *   (Iyengar, "Transforming Data to Satisfy Privacy Constraints", KDD 2002);
 * - ncp: the NCP of Xu et al. ("Utility-Based Anonymization Using Local Recoding", KDD 2006)
 *   evaluated on the label: M / |A| for a category covering M > 1 values, 0 for a single value,
 *   the width share for numbers.
 */
export interface PublishedAttributeLoss {
  column: string;
  genILoss: number;
  ncp: number;
  /** Cells of kept records whose label covers the whole domain (hierarchy root, full range, all values). */
  atRoot: number;
  /** Cells of suppressed records (written `*`). */
  suppressed: number;
  /**
   * Cells written `*`, by meaning: a suppressed record, or the hierarchy's root when its label
   * is `*` too (then `hierarchyRoot` = `atRoot`; else 0).
   */
  star: { suppressedRecord: number; hierarchyRoot: number };
}

export function publishedLossPerAttribute(dim: Dimension, classes: ClassIndex, suppressed: number, rowCount: number): PublishedAttributeLoss {
  const count = classes.count;
  // Per class: Iyengar's loss of its label, the share of the domain the label covers (Xu's NCP,
  // 0 for a single value), and whether the label is the whole domain.
  const genILoss = new Float64Array(count);
  const share = new Float64Array(count);
  const whole = new Uint8Array(count);
  let rootIsStar = false;
  if (dim.kind === 'numeric') {
    const [lo, hi] = codeRange(dim.codes, classes, rowCount);
    const span = dim.domainMax - dim.domainMin;
    for (let c = 0; c < count; c++) {
      let top = hi[c];
      // the missing code ranks last and has no number
      if (Number.isNaN(dim.values[top])) top = Math.max(lo[c], top - 1);
      const width = Number.isNaN(dim.values[lo[c]]) ? 0 : Math.max(0, dim.values[top] - dim.values[lo[c]]);
      genILoss[c] = share[c] = span > 0 ? width / span : 0;
      whole[c] = span > 0 && width >= span ? 1 : 0;
    }
  } else if (dim.kind === 'hierarchical') {
    const h = dim.hierarchy;
    rootIsStar = h.labels[h.root] === SUPPRESSED;
    // original leaves before leaf index i (weights > 1 where a minimum level merged leaves)
    const before = new Float64Array(h.leafCount + 1);
    for (let i = 0; i < h.leafCount; i++) before[i + 1] = before[i] + (dim.leafWeights ? dim.leafWeights[i] : 1);
    const all = before[h.leafCount];
    const [lo, hi] = codeRange(dim.codes, classes, rowCount);
    for (let c = 0; c < count; c++) {
      const node = lowestCoveringNode(h, lo[c], hi[c]);
      const leaves = before[h.leafEnd[node]] - before[h.leafStart[node]];
      genILoss[c] = all > 1 ? (leaves - 1) / (all - 1) : 0;
      share[c] = leaves > 1 ? leaves / all : 0;
      whole[c] = node === h.root && all > 1 ? 1 : 0;
    }
  } else {
    const distinct = distinctPerClass(dim.codes, classes, rowCount);
    const all = dim.domainDistinct;
    for (let c = 0; c < count; c++) {
      genILoss[c] = all > 1 ? (distinct[c] - 1) / (all - 1) : 0;
      share[c] = distinct[c] > 1 ? distinct[c] / all : 0;
      whole[c] = all > 1 && distinct[c] >= all ? 1 : 0;
    }
  }
  let gen = suppressed;
  let ncp = suppressed;
  let atRoot = 0;
  for (let c = 0; c < count; c++) {
    const size = classes.sizes[c];
    gen += size * genILoss[c];
    ncp += size * share[c];
    if (whole[c]) atRoot += size;
  }
  return {
    column: dim.name,
    genILoss: rowCount > 0 ? gen / rowCount : 0,
    ncp: rowCount > 0 ? ncp / rowCount : 0,
    atRoot,
    suppressed,
    star: { suppressedRecord: suppressed, hierarchyRoot: rootIsStar ? atRoot : 0 },
  };
}

/** Smallest and largest code of each class on one dimension. */
function codeRange(codes: Int32Array, classes: ClassIndex, rowCount: number): [Int32Array, Int32Array] {
  const lo = new Int32Array(classes.count).fill(0x7fffffff);
  const hi = new Int32Array(classes.count).fill(-1);
  for (let r = 0; r < rowCount; r++) {
    const c = classes.classOf[r];
    if (c < 0) continue;
    const code = codes[r];
    if (code < lo[c]) lo[c] = code;
    if (code > hi[c]) hi[c] = code;
  }
  return [lo, hi];
}
