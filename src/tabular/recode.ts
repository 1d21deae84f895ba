import type { Dimension } from './dimensions.js';
import { lowestCoveringNode } from './hierarchy/hierarchy.js';
import type { Partitioning } from './mondrian/mondrian.js';

/** The token written in every quasi-identifier cell of a suppressed record. */
export const SUPPRESSED = '*';

/**
 * Generalized label of each class on each dimension, from the values the class actually holds:
 * numeric `[lo-hi]` (a single value stays itself), hierarchical the lowest node covering the
 * class, ordinal `{a,b}` (natural order). A numeric class holding missing and present values
 * is written `[lo-hi] or missing`.
 */
export function classLabels(dim: Dimension, perm: Int32Array, bounds: Int32Array): string[] {
  const classes = bounds.length - 1;
  const labels = new Array<string>(classes);
  for (let c = 0; c < classes; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = bounds[c]; i < bounds[c + 1]; i++) {
      const code = dim.codes[perm[i]];
      if (code < lo) lo = code;
      if (code > hi) hi = code;
    }
    labels[c] = label(dim, lo, hi, perm, bounds[c], bounds[c + 1]);
  }
  return labels;
}

function label(dim: Dimension, lo: number, hi: number, perm: Int32Array, from: number, to: number): string {
  switch (dim.kind) {
    case 'numeric': {
      const missingCode = Number.isNaN(dim.values[dim.values.length - 1]) ? dim.values.length - 1 : -1;
      if (hi === missingCode) {
        if (lo === hi) return dim.texts[hi];
        // highest present number below the missing code
        let top = -1;
        for (let i = from; i < to; i++) {
          const code = dim.codes[perm[i]];
          if (code !== missingCode && code > top) top = code;
        }
        return `${range(dim.texts, lo, top)} or missing`;
      }
      return range(dim.texts, lo, hi);
    }
    case 'hierarchical':
      return dim.hierarchy.labels[lowestCoveringNode(dim.hierarchy, lo, hi)];
    case 'ordinal': {
      if (lo === hi) return dim.texts[lo];
      const present = new Set<number>();
      for (let i = from; i < to; i++) present.add(dim.codes[perm[i]]);
      return `{${[...present].sort((a, b) => a - b).map((code) => dim.texts[code]).join(',')}}`;
    }
  }
}

function range(texts: readonly string[], lo: number, hi: number): string {
  return lo === hi ? texts[lo] : `[${texts[lo]}-${texts[hi]}]`;
}

/** Class index of every row (-1 for rows not partitioned, i.e. suppressed). */
export function classOfRows(partitioning: Partitioning, rowCount: number): Int32Array {
  const classOf = new Int32Array(rowCount).fill(-1);
  const { perm, bounds } = partitioning;
  for (let c = 0; c + 1 < bounds.length; c++) for (let i = bounds[c]; i < bounds[c + 1]; i++) classOf[perm[i]] = c;
  return classOf;
}
