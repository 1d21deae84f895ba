import { VeilError } from '../../errors.js';
import type { TabularPolicy } from '../../policy/sections/tabular.js';
import { beginRun, publishClasses, type AnonymizeOptions, type AnonymizeResult } from '../anonymize.js';
import type { Entities } from '../entities.js';
import type { ClassStats } from '../models/model.js';
import type { Table } from '../table.js';
import { matchScheme } from './match.js';
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
 * specific class whose labels cover it (see matchScheme), and is written with that class's
 * labels. The batch is then held to the policy on its own: records that no class covers, and
 * the records of classes this batch leaves under k (or l, t) that no wider class takes, are
 * suppressed, and the run fails when that is more than the policy's suppression limit.
 * Guarantees are measured on the output as for any run.
 */
export function applyScheme(table: Table, policy: TabularPolicy, scheme: Scheme, options: AnonymizeOptions & { schemeFile?: string }): AnonymizeResult & { fit: SchemeFit } {
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
  const classOf = matchScheme(scheme, prepared.dimensions, n);
  run.lap('partition');
  let unmatched = 0;
  for (let r = 0; r < n; r++) if (classOf[r] < 0) unmatched++;

  // One person, one class: a person whose records fit different classes is suppressed whole.
  const entities = prepared.entities;
  let splitPeople = entities ? separatePeople(classOf, entities) : 0;

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
    const again = matchScheme(scheme, prepared.dimensions, n, { rows: homeless, closed });
    for (const r of homeless) classOf[r] = again[r];
    if (entities) splitPeople += separatePeople(classOf, entities);
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
  const result = publishClasses(table, policy, options, { ...run, classOf, labels });
  result.report.scheme = { ...(options.schemeFile ? { file: options.schemeFile } : {}), ...fit };
  result.report.notes.push(
    `Published in the classes of a saved scheme: ${fit.used} of its ${fit.classes} classes hold records of this batch; ${unmatched} records fit no class and ${inFailingClasses} were in classes this batch alone leaves under the policy${entities ? `; ${splitPeople} records of people spread over several classes` : ''}: all of these are suppressed.`,
  );
  return { ...result, fit };
}

/** Suppresses (class -1) every record of a person whose records are not all in one class; returns how many. */
function separatePeople(classOf: Int32Array, entities: Entities): number {
  const classOfPerson = new Int32Array(entities.count).fill(-2);
  for (let r = 0; r < classOf.length; r++) {
    const e = entities.codes[r];
    if (classOfPerson[e] === -2) classOfPerson[e] = classOf[r];
    else if (classOfPerson[e] !== classOf[r]) classOfPerson[e] = -1;
  }
  let suppressed = 0;
  for (let r = 0; r < classOf.length; r++) {
    if (classOfPerson[entities.codes[r]] !== -1 || classOf[r] < 0) continue;
    classOf[r] = -1;
    suppressed++;
  }
  return suppressed;
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
