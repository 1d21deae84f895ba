import type { Hierarchy } from './hierarchy/hierarchy.js';

/**
 * A quasi-identifier prepared for partitioning: every row carries an integer code whose order
 * is the attribute's order, so a partition's extent on it is a code range.
 *
 * - numeric: codes rank the distinct numbers ascending; a missing value ranks last.
 * - ordinal: categorical without hierarchy; codes rank the distinct texts (natural order).
 * - hierarchical: codes are leaf indices of the hierarchy in depth-first order.
 */
export type Dimension = NumericDimension | OrdinalDimension | HierarchicalDimension;

interface DimensionBase {
  readonly name: string;
  /** Code of every row. */
  readonly codes: Int32Array;
  /** Number of possible codes (codes are 0 … cardinality-1). */
  readonly cardinality: number;
  /** Distinct values present in the whole column: the NCP denominator is this − 1. */
  readonly domainDistinct: number;
  /**
   * Code of each row's ORIGINAL text (the column's dictionary codes). Equal to `codes` up to
   * renumbering unless a minimum generalization level merged values; NCP counts these.
   */
  readonly valueCodes: Int32Array;
}

export interface NumericDimension extends DimensionBase {
  readonly kind: 'numeric';
  /** Number for each code (ascending); NaN for the missing code. */
  readonly values: Float64Array;
  /** Original text of each code, for labels. */
  readonly texts: readonly string[];
  readonly domainMin: number;
  readonly domainMax: number;
}

export interface OrdinalDimension extends DimensionBase {
  readonly kind: 'ordinal';
  readonly texts: readonly string[];
}

export interface HierarchicalDimension extends DimensionBase {
  readonly kind: 'hierarchical';
  readonly hierarchy: Hierarchy;
  /** Original leaves under each leaf, when a minimum level merged them (else every weight is 1). */
  readonly leafWeights?: Int32Array;
}

/** Natural text order: numbers inside texts compare as numbers. */
export const naturalOrder = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' }).compare;
