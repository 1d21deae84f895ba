import type { RiskModelsReport } from '../tabular/risk/assess.js';
import type { SafeHarborResult } from '../tabular/risk/safeHarbor.js';

/**
 * The report of a tabular anonymization: what was required, what the output measurably
 * achieves, what utility was lost and what risk remains. Counts and column names only — never
 * a data value.
 */
export interface PolicyRef {
  name: string;
  version: string | number;
  sha256: string;
}

export interface TabularReport {
  /** 'veil-tabular' (older reports said 'tabular'). */
  kind: 'veil-tabular';
  veil: { version: string };
  createdAt: string;
  policy: PolicyRef;
  input: { rows: number; columns: number };
  privacy: {
    /** achieved: smallest class, in records — or in people when `countedIn` is 'people'. */
    k: { required: number; achieved: number | null; countedIn?: 'people' };
    /** The entity column when k counts people, and how many people the output holds. */
    entity?: { column: string; people: number };
    l?: { variant: 'distinct' | 'entropy' | 'recursive'; required: number; c?: number; achieved: number | null };
    t?: { required: number; achieved: number | null };
    /** Measured on the output for every sensitive attribute, whether or not l/t were required. */
    sensitive: {
      column: string;
      lDistinct: number;
      lEntropy: number;
      lRecursive?: number;
      t: number;
      distance: 'equal' | 'ordered' | 'hierarchical';
    }[];
    satisfied: boolean;
    /**
     * Per sensitive column: what being placed in a class reveals — the highest share of one
     * value in a class, and the classes where one value holds ≥ 90% of the records (counts, never values).
     */
    attributeDisclosure?: {
      column: string;
      highest: number;
      skewed: { threshold: number; classes: number; records: number; share: number; worstRatio: number | null; worstClassSize: number };
      /** What would lower it, in words (entropy or recursive l, t-closeness). */
      remedy: string;
    }[];
  };
  /** Number of suppressed records (rows kept, quasi-identifiers written `*`). */
  suppressed: number;
  suppressionLimit: number;
  classes: {
    count: number;
    minSize: number | null;
    maxSize: number | null;
    averageSize: number | null;
    /** Class size → number of classes with that size (sizes above 50 grouped by tens). */
    sizeDistribution: { size: string; classes: number; records: number }[];
    /** Class sizes in bins relative to k (exactly k, k+1…2k−1, 2k…4k−1, …): `to` inclusive. The HTML chart draws these. */
    sizeBins?: { from: number; to: number; classes: number; records: number }[];
  };
  utility: {
    /** Mean Iyengar loss over all quasi-identifier cells, 0 (none) … 1 (everything generalized). */
    genILoss: number;
    /** Discernibility: Σ class size² + rows × suppressed. */
    dm: number;
    /** Normalized average class size (rows / classes) / k; 1 is ideal. */
    cAvg: number;
    /** Normalized certainty penalty, mean over quasi-identifier cells, from original values. */
    ncp: number;
    perAttribute: { column: string; kind: 'numeric' | 'ordinal' | 'hierarchical'; ncp: number; genILoss: number }[];
    /**
     * Loss measured on the published labels (the headline figure): per cell the share of the
     * domain the label covers — interval width / range, leaves under the node / all leaves.
     * `ncp` above measures the spread of the ORIGINAL values in a class instead, and stays small
     * when a class of one month is published as its hierarchy's root.
     */
    published?: {
      genILoss: number;
      ncp: number;
      perAttribute: {
        column: string;
        genILoss: number;
        ncp: number;
        /** Share of cells of kept records published at the hierarchy root (whole range, all values). */
        atRoot: number;
        /** Share of cells of suppressed records. */
        suppressed: number;
        /** Cells written `*`, by meaning: suppressed record, or hierarchy root labelled `*`. */
        star: { suppressedRecord: number; hierarchyRoot: number };
      }[];
    };
  };
  risk: {
    model: 'prosecutor';
    /** Record risk above which a record counts as "at risk". */
    threshold: number;
    prosecutorMax: number;
    prosecutorAvg: number;
    recordsAtRisk: number;
    uniquesBefore: number;
    uniquesAfter: number;
    before: { prosecutorMax: number; prosecutorAvg: number; recordsAtRisk: number; uniques: number };
    after: { prosecutorMax: number; prosecutorAvg: number; recordsAtRisk: number; uniques: number };
    /** For each quasi-identifier: records unique on that attribute alone in the input. */
    drivers: { column: string; uniquesAlone: number; distinctValues: number }[];
    /** Prosecutor / journalist / marketer risk, uniqueness estimates and riskThreshold checks (src/tabular/risk). */
    models?: RiskModelsReport;
  };
  /** HIPAA Safe Harbor check of the output: the 18 identifier kinds, pass / fail / review, with column names and counts. */
  safeHarbor?: SafeHarborResult;
  /** With `veil tabular apply`: how this batch fitted the saved scheme's classes. */
  scheme?: { file?: string; classes: number; used: number; unmatched: number; inFailingClasses: number; splitPeople: number };
  /** With a distributed run (src/tabular/distributed): how the table was split before the partitions were anonymized. */
  distribution?: TabularDistribution;
  /** Where the original → pseudonym mapping was written (never its content), and its rows. */
  mapping?: { file: string; values: number };
  columns: { column: string; role: 'identifier' | 'quasiIdentifier' | 'sensitive' | 'other'; action: string }[];
  notes: string[];
  timingMs: Record<string, number>;
}

/** How a distributed run split the table: the central cuts, one box per partition. */
export interface TabularDistribution {
  partitions: number;
  maxPartitionRows: number;
  /** Per partition: its rows (and people), and the range it covers on each quasi-identifier. */
  cuts: { partition: number; rows: number; people?: number; covers: Record<string, string> }[];
}
