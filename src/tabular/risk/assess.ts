import { reidentificationRisks, populationFromSamplingFraction, type ReidentificationRisks } from './reidentification.js';
import { uniquenessEstimates, type UniquenessEstimates } from './uniqueness.js';

/** The thresholds a policy may require (`tabular.privacy.riskThreshold`); each is a probability. */
export interface RiskThresholds {
  prosecutorMax?: number;
  prosecutorAvg?: number;
  journalistMax?: number;
  journalistAvg?: number;
  marketer?: number;
}

/** The risk-model part of the report, for the input and the output alike. */
export interface RiskModelsReport {
  /** Record risk above which a record counts in `recordsAbove`. */
  threshold: number;
  /** What journalist and marketer risk are measured against. */
  population: { basis: 'sample' | 'samplingFraction' | 'table'; samplingFraction: number | null; size: number | null };
  before: ReidentificationRisks;
  after: ReidentificationRisks;
  /** Sample and population uniqueness; population estimates need a sampling fraction (given or n / population size). */
  uniqueness: { before: UniquenessEstimates; after: UniquenessEstimates } | null;
  /** The policy's `riskThreshold` requirements against what the output achieves. */
  required: { measure: keyof RiskThresholds; required: number; achieved: number; satisfied: boolean }[];
}

export interface RiskModelsInput {
  /** Records (or people) per class, input and output. */
  before: ArrayLike<number>;
  after: ArrayLike<number>;
  /** Population count per class from a population table, input and output. */
  populationBefore?: ArrayLike<number>;
  populationAfter?: ArrayLike<number>;
  populationSize?: number;
  samplingFraction?: number;
  threshold: number;
  required?: RiskThresholds;
}

export function riskModels(input: RiskModelsInput): RiskModelsReport {
  const n = sum(input.before);
  const table = input.populationBefore !== undefined && input.populationAfter !== undefined;
  const f = input.samplingFraction ?? (table && input.populationSize ? Math.min(1, n / input.populationSize) : undefined);
  const basis: RiskModelsReport['population']['basis'] = table ? 'table' : f !== undefined ? 'samplingFraction' : 'sample';
  const populationOf = (sizes: ArrayLike<number>, counted?: ArrayLike<number>) =>
    counted ?? (f !== undefined ? populationFromSamplingFraction(sizes, f) : undefined);
  const before = reidentificationRisks(input.before, input.threshold, populationOf(input.before, input.populationBefore));
  const after = reidentificationRisks(input.after, input.threshold, populationOf(input.after, input.populationAfter));
  const uniqueness = f !== undefined ? { before: uniquenessEstimates(input.before, f), after: uniquenessEstimates(input.after, f) } : null;
  const achieved: Record<keyof RiskThresholds, number> = {
    prosecutorMax: after.prosecutor.highest,
    prosecutorAvg: after.prosecutor.average,
    journalistMax: after.journalist.highest,
    journalistAvg: after.journalist.average,
    marketer: after.marketer,
  };
  const required = Object.entries(input.required ?? {})
    .filter((entry): entry is [keyof RiskThresholds, number] => typeof entry[1] === 'number')
    .map(([measure, limit]) => ({ measure, required: limit, achieved: achieved[measure], satisfied: achieved[measure] <= limit + 1e-12 }));
  return {
    threshold: input.threshold,
    population: { basis, samplingFraction: f ?? null, size: table ? (input.populationSize ?? null) : f !== undefined ? n / f : null },
    before,
    after,
    uniqueness,
    required,
  };
}

/**
 * The smallest class (in records, or people) that meets the per-class thresholds Mondrian can
 * check while splitting: highest prosecutor risk 1/size ≤ p, and with a sampling fraction f,
 * highest journalist risk f/size ≤ j. (Against a population table the journalist risk of a
 * class depends on its labels, so it is checked on the result instead.)
 */
export function smallestAllowedClass(required: RiskThresholds | undefined, samplingFraction: number | undefined, populationTable: boolean): number {
  if (!required) return 1;
  let size = 1;
  if (required.prosecutorMax !== undefined) size = Math.max(size, Math.ceil(1 / required.prosecutorMax - 1e-9));
  if (required.journalistMax !== undefined && samplingFraction !== undefined && !populationTable) {
    size = Math.max(size, Math.ceil(samplingFraction / required.journalistMax - 1e-9));
  }
  return size;
}

function sum(xs: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < xs.length; i++) total += xs[i];
  return total;
}
