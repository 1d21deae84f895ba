import type { TabularPolicy } from '../policy/sections/tabular.js';
import type { TabularReport } from '../report/tabularReport.js';
import { VEIL_VERSION } from '../version.js';
import type { AnonymizeOptions } from './anonymize.js';
import type { Dimension } from './dimensions.js';
import { normalizedAverageClassSize } from './metrics/cAvg.js';
import type { ClassIndex } from './metrics/classes.js';
import { discernibility } from './metrics/discernibility.js';
import type { attributeDisclosure } from './metrics/disclosure.js';
import { genILossPerAttribute } from './metrics/genILoss.js';
import { ncpPerAttribute } from './metrics/ncp.js';
import type { MeasuredSensitive } from './metrics/privacy.js';
import { publishedLossPerAttribute } from './metrics/publishedLoss.js';
import type { prosecutorRisk } from './metrics/risk.js';
import { sizeBins, sizeDistribution } from './metrics/sizeDistribution.js';
import type { Requirement } from './models/model.js';
import type { Table } from './table.js';

/**
 * Report assembly: the measures of a published table put into the shape of a TabularReport
 * (src/report/tabularReport.ts), with the notes that explain them. Pure: measures nothing that
 * is not handed in except the utility metrics of the classes.
 */

export interface ReportInput {
  table: Table;
  policy: TabularPolicy;
  options: AnonymizeOptions;
  dimensions: Dimension[];
  classes: ClassIndex;
  /** Distinct people per class, when k counts people. */
  people?: Int32Array;
  measured: MeasuredSensitive[];
  /** What each privacy model and risk threshold of the policy answers on the output. */
  requirements: readonly Requirement[];
  disclosure: ReturnType<typeof attributeDisclosure>;
  suppressedCount: number;
  before: ReturnType<typeof prosecutorRisk>;
  after: ReturnType<typeof prosecutorRisk>;
  columnsRoles: TabularReport['columns'];
  drivers: TabularReport['risk']['drivers'];
}

export function assembleTabularReport(input: ReportInput): TabularReport {
  const { table, policy, options, dimensions, classes, people, measured, suppressedCount, before, after } = input;
  const n = table.rowCount;
  const privacy = policy.privacy;
  const sizes = Array.from(classes.sizes);
  const minimum = (xs: ArrayLike<number>) => (xs.length > 0 ? Array.from(xs).reduce((a, b) => Math.min(a, b)) : null);
  const answer = (field: string) => input.requirements.find((r) => r.field === field);
  const kAchieved = answer('tabular.privacy.k')?.achieved ?? null;
  const perAttribute = dimensions.map((dim) => ({
    column: dim.name,
    kind: dim.kind,
    ncp: round(ncpPerAttribute(dim, classes, suppressedCount, n), 6),
    genILoss: round(genILossPerAttribute(dim, classes, suppressedCount, n), 6),
  }));
  const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const published = dimensions.map((dim) => publishedLossPerAttribute(dim, classes, suppressedCount, n));
  const lAchieved = privacy.l ? (answer('tabular.privacy.l')?.achieved ?? null) : null;
  const tAchieved = privacy.t ? (answer('tabular.privacy.t')?.achieved ?? null) : null;
  // Asked of the models, never re-derived here; the suppression limit is the policy's own bound.
  const satisfied = input.requirements.every((r) => r.satisfied) && suppressedCount <= Math.floor(privacy.suppressionLimit * n);
  const notes: string[] = [];
  if (policy.sensitive.length > 0) notes.push('Sensitive columns are never changed: l-diversity and t-closeness are reached by generalizing the quasi-identifiers only.');
  notes.push('NCP and GenILoss are means over all quasi-identifier cells (0 = no loss, 1 = fully generalized); a suppressed record counts 1 per cell.');
  notes.push('Headline loss (utility.published) is measured on the published labels: how much of the domain the label a reader gets covers. utility.ncp (observed NCP) measures how spread the original values of a class are, and stays small when a tight class is published under a coarse label.');
  if (people && policy.entity !== undefined) {
    notes.push(`k counts people, not records: a person is a distinct value of "${policy.entity}", and all of a person's records are in one class. Prosecutor risk and C_AVG count people too; class sizes, DM, NCP and GenILoss count records.`);
    notes.push(`Prosecutor risk: a record's risk is 1 / (people in its class); "at risk" means above ${options.riskThreshold ?? 0.2}; uniques are records whose class holds one person.`);
  } else {
    notes.push(`Prosecutor risk: a record's risk is 1 / (size of its class); "at risk" means above ${options.riskThreshold ?? 0.2}.`);
  }
  return {
    kind: 'veil-tabular',
    veil: { version: VEIL_VERSION },
    createdAt: new Date().toISOString(),
    policy: options.policyInfo ?? { name: 'inline', version: 0, sha256: '' },
    input: { rows: n, columns: table.columns.length },
    privacy: {
      k: { required: privacy.k, achieved: kAchieved, ...(people ? { countedIn: 'people' as const } : {}) },
      ...(people && policy.entity !== undefined ? { entity: { column: policy.entity, people: Array.from(people).reduce((a, b) => a + b, 0) } } : {}),
      ...(privacy.l ? { l: { variant: privacy.l.variant, required: privacy.l.l, ...(privacy.l.c !== undefined ? { c: privacy.l.c } : {}), achieved: lAchieved === null ? null : round(lAchieved, 6) } } : {}),
      ...(privacy.t ? { t: { required: privacy.t.t, achieved: tAchieved === null ? null : round(tAchieved, 6) } } : {}),
      sensitive: measured.map((m) => ({
        column: m.column,
        lDistinct: m.lDistinct,
        lEntropy: round(m.lEntropy, 6),
        ...(privacy.l?.variant === 'recursive' ? { lRecursive: m.lRecursive } : {}),
        t: round(m.t, 6),
        distance: m.distance,
      })),
      satisfied,
      attributeDisclosure: input.disclosure.map((d) => ({
        column: d.column,
        highest: round(d.highest, 6),
        skewed: { ...d.skewed, share: round(share(d.skewed.records, n), 6), worstRatio: d.skewed.worstRatio === null ? null : round(d.skewed.worstRatio, 3) },
        remedy: disclosureRemedy(privacy.l?.variant),
      })),
    },
    suppressed: suppressedCount,
    suppressionLimit: privacy.suppressionLimit,
    classes: {
      count: classes.count,
      minSize: minimum(sizes),
      maxSize: sizes.length > 0 ? sizes.reduce((a, b) => Math.max(a, b)) : null,
      averageSize: sizes.length > 0 ? round((n - suppressedCount) / sizes.length, 3) : null,
      sizeDistribution: sizeDistribution(classes.sizes),
      sizeBins: sizeBins(classes.sizes, privacy.k),
    },
    utility: {
      genILoss: round(mean(perAttribute.map((a) => a.genILoss)), 6),
      dm: discernibility(classes, suppressedCount, n),
      cAvg: round(normalizedAverageClassSize(classes, suppressedCount, n, privacy.k, people), 6),
      ncp: round(mean(perAttribute.map((a) => a.ncp)), 6),
      perAttribute,
      published: {
        genILoss: round(mean(published.map((a) => a.genILoss)), 6),
        ncp: round(mean(published.map((a) => a.ncp)), 6),
        perAttribute: published.map((a) => ({
          column: a.column,
          genILoss: round(a.genILoss, 6),
          ncp: round(a.ncp, 6),
          atRoot: round(share(a.atRoot, n), 6),
          suppressed: round(share(a.suppressed, n), 6),
          star: a.star,
        })),
      },
    },
    risk: {
      model: 'prosecutor',
      threshold: options.riskThreshold ?? 0.2,
      prosecutorMax: round(after.prosecutorMax, 6),
      prosecutorAvg: round(after.prosecutorAvg, 6),
      recordsAtRisk: after.recordsAtRisk,
      uniquesBefore: before.uniques,
      uniquesAfter: after.uniques,
      before: { ...before, prosecutorMax: round(before.prosecutorMax, 6), prosecutorAvg: round(before.prosecutorAvg, 6) },
      after: { ...after, prosecutorMax: round(after.prosecutorMax, 6), prosecutorAvg: round(after.prosecutorAvg, 6) },
      drivers: input.drivers,
    },
    columns: input.columnsRoles,
    notes,
    timingMs: {},
  };
}

function share(count: number, total: number): number {
  return total > 0 ? count / total : 0;
}

/** What would lower attribute disclosure, given the l-diversity variant the policy asks for. */
function disclosureRemedy(variant: 'distinct' | 'entropy' | 'recursive' | undefined): string {
  const t = 't-closeness (tabular.privacy.t, e.g. 0.2) bounds how far a class\'s distribution may drift from the whole table\'s';
  if (variant === 'entropy') return `a higher entropy l, or ${t}`;
  if (variant === 'recursive') return `a smaller c or a higher l in recursive (c,l)-diversity, or ${t}`;
  return `entropy l-diversity (variant: entropy) or recursive (c,l)-diversity (variant: recursive, e.g. c = 3) caps the share of the most frequent value; ${t}`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
