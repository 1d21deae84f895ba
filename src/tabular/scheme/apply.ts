import { VeilError } from '../../errors.js';
import type { TabularPolicy } from '../../policy/sections/tabular.js';
import { beginRun, type AnonymizeOptions, type AnonymizeResult, type DecidedRun } from '../anonymize.js';
import { extendedReport, publishTable, withReport } from '../publish.js';
import type { Dimension } from '../dimensions.js';
import { representativeDimension, type Entities } from '../entities.js';
import type { ClassStats } from '../models/model.js';
import type { Table } from '../table.js';
import { createMatcher } from './match.js';
import type { Scheme } from './scheme.js';

/** How a batch fitted a scheme, for the report. */
export interface SchemeFit {
  /** Classes of the scheme, and how many hold a record of this batch. */
  classes: number;
  used: number;
  /** Records no class covers (a value the first batch never had near it). */
  unmatched: number;
  /** Records of classes that this batch alone leaves under k, l or t. */
  inFailingClasses: number;
  /** Records of people whose records fell into different classes. */
  splitPeople: number;
}

/**
 * Publishes a later batch of a study in the classes of a saved scheme, so both batches read
 * alike: every record goes to the class whose part of the domain holds it, else to the most
 * specific class whose labels cover it (see createMatcher), and is written with that class's
 * labels. The batch is then held to the policy on its own: records that no class covers, and
 * the records of classes this batch leaves under k (or l, t) that no wider class takes, are
 * suppressed, and the run fails when that is more than the policy's suppression limit.
 * Guarantees are measured on the output as for any run.
 */
export function applyScheme(table: Table, policy: TabularPolicy, scheme: Scheme, options: AnonymizeOptions & { schemeFile?: string }): AnonymizeResult & { fit: SchemeFit } {
  const decided = decideScheme(table, policy, scheme, options);
  return { ...withReport(decided), fit: decided.fit };
}

/** applyScheme without the report's measures unless `report()` is called (same output, checks and errors). */
export function decideScheme(table: Table, policy: TabularPolicy, scheme: Scheme, options: AnonymizeOptions & { schemeFile?: string }): DecidedRun & { fit: SchemeFit } {
  const where = { file: options.schemeFile };
  const expected = options.policyInfo;
  if (expected && scheme.policy.sha256 !== expected.sha256) {
    throw new VeilError('SCHEME_INVALID', `the scheme was made under policy "${scheme.policy.name}" version ${scheme.policy.version} (sha256 ${scheme.policy.sha256.slice(0, 12)}), not this policy: a scheme is re-applied only under the policy that made it`, where);
  }
  const columns = policy.quasiIdentifiers.map((qi) => qi.column);
  if (columns.join('\u0000') !== scheme.quasiIdentifiers.join('\u0000')) {
    throw new VeilError('SCHEME_INVALID', `the scheme's quasi-identifiers (${scheme.quasiIdentifiers.join(', ')}) are not the policy's (${columns.join(', ')})`, where);
  }
  const run = beginRun(table, policy, options);
  const { prepared, models } = run;
  const n = table.rowCount;
  const entities = prepared.entities;
  const place = entities ? placePeople(scheme, prepared.dimensions, entities) : placeRows(scheme, prepared.dimensions);
  const classOf = new Int32Array(n).fill(-1);
  const first = place(Array.from({ length: n }, (_, r) => r));
  first.rows.forEach((r, i) => (classOf[r] = first.classes[i]));
  const { unmatched, splitPeople } = first;
  run.lap('partition');

  // This batch's classes are held to the policy on their own. The records of a class that
  // fails get another chance in a wider class that covers them too (a remainder labelled with
  // an ancestor), as long as one passes; what is still in failing classes is suppressed.
  const usesSensitive = models.some((m) => m.usesSensitive);
  const closed = new Uint8Array(scheme.classes.length);
  let stats = classStatsOf(classOf, scheme.classes.length, prepared, usesSensitive);
  for (let round = 0; round < 4; round++) {
    const failing = stats.map((s) => s.size > 0 && models.some((m) => !m.accepts(s)));
    if (!failing.includes(true)) break;
    failing.forEach((fails, c) => {
      if (fails) closed[c] = 1;
    });
    const homeless: number[] = [];
    for (let r = 0; r < n; r++) if (classOf[r] >= 0 && closed[classOf[r]]) homeless.push(r);
    const again = place(homeless, closed);
    again.rows.forEach((r, i) => (classOf[r] = again.classes[i]));
    stats = classStatsOf(classOf, scheme.classes.length, prepared, usesSensitive);
  }
  const failing = stats.map((s) => s.size > 0 && models.some((m) => !m.accepts(s)));
  for (let r = 0; r < n; r++) if (classOf[r] >= 0 && failing[classOf[r]]) classOf[r] = -1;
  let suppressed = 0;
  for (let r = 0; r < n; r++) if (classOf[r] < 0) suppressed++;
  // the rest were in failing classes, or were moved out of one and found no other
  const inFailingClasses = suppressed - unmatched - splitPeople;
  const fit: SchemeFit = { classes: scheme.classes.length, used: stats.filter((s, c) => s.size > 0 && !failing[c]).length, unmatched, inFailingClasses, splitPeople };
  const limit = Math.floor(policy.privacy.suppressionLimit * n);
  if (suppressed > limit) {
    throw new VeilError(
      'POLICY_UNSATISFIABLE',
      `re-applying the scheme would suppress ${suppressed} of ${n} records (${unmatched} outside every class, ${inFailingClasses} in classes this batch leaves under the policy${entities ? `, ${splitPeople} of people spread over classes` : ''}), more than the limit of ${policy.privacy.suppressionLimit * 100}%: anonymize this batch on its own, or with a batch that came before`,
      { file: options.policyFile, field: 'tabular.privacy.suppressionLimit' },
    );
  }
  const labels = scheme.quasiIdentifiers.map((_, d) => scheme.classes.map((c) => c.labels[d]));
  const published = publishTable(table, policy, options, { ...run, classOf, labels });
  const report = extendedReport(published.report, (r) => {
    r.scheme = { ...(options.schemeFile ? { file: options.schemeFile } : {}), ...fit };
    r.notes.push(
      `Published in the classes of a saved scheme: ${fit.used} of its ${fit.classes} classes hold records of this batch; ${unmatched} records fit no class and ${inFailingClasses} were in classes this batch alone leaves under the policy${entities ? `; ${splitPeople} records of people spread over several classes` : ''}: all of these are suppressed.`,
    );
  });
  return { ...published, report, fit };
}

/** Where a set of rows goes: their classes (-1: none), and how many found none, and why. */
interface Placement {
  rows: readonly number[];
  classes: Int32Array;
  /** Rows no class covers. */
  unmatched: number;
  /** Rows of people with no class covering all their rows, though some rows fit one. */
  splitPeople: number;
}

type Place = (rows: readonly number[], closed?: Uint8Array) => Placement;

function placeRows(scheme: Scheme, dimensions: readonly Dimension[]): Place {
  const matcher = createMatcher(scheme, dimensions);
  return (rows, closed) => {
    const classes = Int32Array.from(rows, (r) => matcher.classOf(r, closed));
    return { rows, classes, unmatched: classes.filter((c) => c < 0).length, splitPeople: 0 };
  };
}

/**
 * One person, one class. A person is placed as Mondrian placed them — by their representative
 * row (each quasi-identifier at its smallest value over their rows) — in a class whose labels
 * cover all their rows; else in the class all their rows fit one by one; else nowhere.
 */
function placePeople(scheme: Scheme, dimensions: readonly Dimension[], entities: Entities): Place {
  const rowsMatcher = createMatcher(scheme, dimensions);
  const personMatcher = createMatcher(scheme, dimensions.map((dim) => representativeDimension(dim, entities)));
  return (rows, closed) => {
    const byPerson = new Map<number, number[]>();
    for (const r of rows) {
      const e = entities.codes[r];
      const list = byPerson.get(e);
      if (list) list.push(r);
      else byPerson.set(e, [r]);
    }
    const classOf = new Map<number, number>();
    let unmatched = 0;
    let splitPeople = 0;
    for (const personRows of byPerson.values()) {
      let c = personMatcher.classOf(personRows[0], closed);
      if (c >= 0 && !personRows.every((r) => rowsMatcher.covers(c, r))) c = -1;
      if (c < 0) {
        const each = personRows.map((r) => rowsMatcher.classOf(r, closed));
        if (each.every((x) => x === each[0])) c = each[0];
        if (c < 0 && each.some((x) => x >= 0)) splitPeople += personRows.length;
        else if (c < 0) unmatched += personRows.length;
      }
      for (const r of personRows) classOf.set(r, c);
    }
    return { rows, classes: Int32Array.from(rows, (r) => classOf.get(r) ?? -1), unmatched, splitPeople };
  };
}

function classStatsOf(classOf: Int32Array, classes: number, prepared: ReturnType<typeof beginRun>['prepared'], withSensitive: boolean): ClassStats[] {
  const sensitive = withSensitive ? prepared.sensitive : [];
  const stats: ClassStats[] = Array.from({ length: classes }, () => ({ size: 0, counts: sensitive.map((s) => new Int32Array(s.cardinality)), ...(prepared.entities ? { entities: 0 } : {}) }));
  const entities = prepared.entities;
  const lastClassOfPerson = entities ? new Int32Array(entities.count).fill(-1) : undefined;
  for (let r = 0; r < classOf.length; r++) {
    const c = classOf[r];
    if (c < 0) continue;
    const s = stats[c];
    s.size++;
    for (let a = 0; a < sensitive.length; a++) (s.counts[a] as Int32Array)[sensitive[a].codes[r]]++;
    if (entities && lastClassOfPerson && s.entities !== undefined) {
      // every person left here is in one class only, so a person counts once
      const e = entities.codes[r];
      if (lastClassOfPerson[e] !== c) {
        lastClassOfPerson[e] = c;
        s.entities++;
      }
    }
  }
  return stats;
}
