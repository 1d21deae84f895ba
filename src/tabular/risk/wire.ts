import { resolve } from 'node:path';
import { VeilError } from '../../errors.js';
import type { TabularPolicy } from '../../policy/sections/tabular.js';
import type { AnonymizeOptions } from '../anonymize.js';
import type { ClassIndex } from '../metrics/classes.js';
import type { Requirement } from '../models/model.js';
import type { Prepared } from '../prepare.js';
import type { Table } from '../table.js';
import { riskModels, smallestAllowedClass, type RiskModelsReport } from './assess.js';
import { populationOfOriginalClasses, populationOfPublishedClasses, readPopulation, readZipPopulation } from './population.js';
import { safeHarborCheck, type SafeHarborResult } from './safeHarbor.js';

/**
 * Where the risk models meet an anonymization run: the policy's `tabular.risk` (sampling
 * fraction, population table, ZIP populations) and `privacy.riskThreshold` are read here, and
 * the measures go into the report.
 */
const JOURNALIST_NEEDS = 'needs tabular.risk.samplingFraction or tabular.risk.population (without them the population is the sample and journalist risk equals prosecutor risk)';

/** The smallest class Mondrian may create so that the per-class thresholds hold. */
export function riskRequirementMinimum(policy: TabularPolicy, policyFile?: string): number {
  const required = policy.privacy.riskThreshold;
  const risk = policy.risk;
  for (const measure of ['journalistMax', 'journalistAvg', 'marketer'] as const) {
    if (required?.[measure] !== undefined && risk?.samplingFraction === undefined && risk?.population === undefined) {
      throw new VeilError('POLICY_INVALID', `privacy.riskThreshold.${measure} ${JOURNALIST_NEEDS}`, { file: policyFile, field: `tabular.privacy.riskThreshold.${measure}` });
    }
  }
  return smallestAllowedClass(required, risk?.samplingFraction, risk?.population !== undefined);
}

export interface RiskWiring {
  table: Table;
  output: Table;
  policy: TabularPolicy;
  options: AnonymizeOptions;
  prepared: Prepared;
  original: ClassIndex;
  classes: ClassIndex;
  /** People per class (output, input), when k counts people. */
  people?: Int32Array;
  originalPeople?: Int32Array;
}

export function measureRiskModels(w: RiskWiring): { models: RiskModelsReport; safeHarbor: SafeHarborResult; notes: string[] } {
  const { policy, options } = w;
  const risk = policy.risk;
  const where = (field: string, spec: string) => ({ policyFile: options.policyFile, field, spec });
  const population = risk?.population !== undefined
    ? readPopulation(resolve(options.baseDir, risk.population), policy.quasiIdentifiers.map((q) => q.column), where('tabular.risk.population', risk.population))
    : undefined;
  const missing = new Set(policy.missingValues);
  const models = riskModels({
    before: w.originalPeople ?? w.original.sizes,
    after: w.people ?? w.classes.sizes,
    ...(population
      ? {
          populationBefore: populationOfOriginalClasses(population, w.original, w.prepared.dimensionColumns.map((c) => w.table.columns[c])),
          populationAfter: populationOfPublishedClasses(population, w.classes, w.prepared.dimensions, missing),
          populationSize: population.size,
        }
      : {}),
    ...(risk?.samplingFraction !== undefined ? { samplingFraction: risk.samplingFraction } : {}),
    threshold: options.riskThreshold ?? 0.2,
    ...(policy.privacy.riskThreshold ? { required: policy.privacy.riskThreshold } : {}),
  });
  const failed = models.required.filter((r) => !r.satisfied);
  if (failed.length > 0) {
    const first = failed[0];
    throw new VeilError(
      'POLICY_UNSATISFIABLE',
      `the output's ${describe(first.measure)} is ${round(first.achieved)}, above privacy.riskThreshold.${first.measure} = ${first.required}${failed.length > 1 ? ` (and ${failed.length - 1} more threshold${failed.length > 2 ? 's' : ''})` : ''}: raise k (larger classes lower every risk)`,
      { file: options.policyFile, field: `tabular.privacy.riskThreshold.${first.measure}` },
    );
  }
  const zipPopulation = risk?.zipPopulation !== undefined ? readZipPopulation(resolve(options.baseDir, risk.zipPopulation), where('tabular.risk.zipPopulation', risk.zipPopulation)) : undefined;
  const safeHarbor = safeHarborCheck(w.output, { missingValues: missing, ...(zipPopulation ? { zipPopulation } : {}) });
  const notes: string[] = [];
  const basis = models.population.basis;
  notes.push(
    basis === 'sample'
      ? 'Journalist and marketer risk: no sampling fraction or population table in the policy (tabular.risk), so the population is taken to be the data itself and they equal the prosecutor figures; population uniqueness is not estimated.'
      : basis === 'table'
        ? `Journalist and marketer risk are measured against the population table (${models.population.size ?? 0} people): a published class's population is everyone its labels cover.`
        : `Journalist and marketer risk are measured against a population estimated from the sampling fraction ${models.population.samplingFraction ?? ''}: a class of s records stands for s / f people.`,
  );
  if (!safeHarbor.satisfied) notes.push(`HIPAA Safe Harbor: ${safeHarbor.rules.filter((r) => r.status !== 'pass').map((r) => `(${r.id}) ${r.identifier} — ${r.status}`).join('; ')}.`);
  return { models, safeHarbor, notes };
}

/** The policy's riskThreshold measures as requirements, each named by its policy field, like the privacy models. */
export function riskRequirements(models: RiskModelsReport): Requirement[] {
  return models.required.map((r) => ({ field: `tabular.privacy.riskThreshold.${r.measure}`, required: r.required, achieved: r.achieved, satisfied: r.satisfied }));
}

function describe(measure: string): string {
  return { prosecutorMax: 'highest prosecutor risk', prosecutorAvg: 'average prosecutor risk', journalistMax: 'highest journalist risk', journalistAvg: 'average journalist risk', marketer: 'marketer risk' }[measure] ?? measure;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
