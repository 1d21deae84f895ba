/**
 * A privacy model answers one question: is this equivalence class acceptable? It sees only the
 * class size (and its number of people, when records are grouped by person) and, per sensitive attribute, the count of each sensitive code in the class.
 * Models are pure and cheap so that Mondrian can ask them for every candidate split.
 */
export interface ClassStats {
  size: number;
  /** Distinct entities (people) in the class when the policy names an entity column. */
  entities?: number;
  /** counts[s][code]: occurrences of each code of sensitive attribute s in the class. */
  counts: readonly Int32Array[];
}

export interface PrivacyModel {
  /** Stable identifier, e.g. "k-anonymity", "l-diversity/entropy". */
  readonly id: string;
  /** Human description with parameters, e.g. "5-anonymity". */
  readonly description: string;
  /** False when the model looks at the class size only (Mondrian then skips counting). */
  readonly usesSensitive: boolean;
  accepts(stats: ClassStats): boolean;
  /** Why the whole table fails this model (counts and column names only), or undefined. */
  explainTableFailure(stats: ClassStats): string | undefined;
}

/** A sensitive attribute as the models see it. */
export interface SensitiveAttribute {
  readonly name: string;
  readonly cardinality: number;
  /** Code of every row. */
  readonly codes: Int32Array;
  readonly texts: readonly string[];
  /** Distance used by t-closeness. */
  readonly distance: { kind: 'equal' } | { kind: 'ordered' } | { kind: 'hierarchical'; parent: Int32Array; level: Int32Array; leafNodes: Int32Array; height: number; nodeCount: number };
}
