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

/**
 * One requirement of the policy against what the output achieves: every privacy model (and
 * every `riskThreshold` measure) reports through this, and the report's `satisfied` is the
 * conjunction of these answers.
 */
export interface Requirement {
  /** The policy field that asks for it, e.g. "tabular.privacy.k". */
  readonly field: string;
  readonly required: number;
  /** Measured on the published classes; null when the model has nothing to measure (no class left). */
  readonly achieved: number | null;
  readonly satisfied: boolean;
}

export interface PrivacyModel {
  /** Stable identifier, e.g. "k-anonymity", "l-diversity/entropy". */
  readonly id: string;
  /** The policy field the model comes from, named in errors and in its Requirement. */
  readonly policyField: string;
  /** Human description with parameters, e.g. "5-anonymity". */
  readonly description: string;
  /** False when the model looks at the class size only (Mondrian then skips counting). */
  readonly usesSensitive: boolean;
  accepts(stats: ClassStats): boolean;
  /** Why the whole table fails this model (counts and column names only), or undefined. */
  explainTableFailure(stats: ClassStats): string | undefined;
  /** The model's figure over the published classes (unrounded) and whether it meets the policy. */
  measure(classes: readonly ClassStats[]): Requirement;
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
