import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVeilError } from '../../src/errors.js';
import { loadPolicy } from '../../src/policy/load.js';
import type { TabularReport } from '../../src/report/tabularReport.js';
import { anonymizeTable, decideTable } from '../../src/tabular/anonymize.js';
import { readCsv } from '../../src/tabular/csv/read.js';
import { anonymizeCsvFile } from '../../src/tabular/file.js';
import { adultDir, tempDir } from '../helpers.js';

/**
 * A run that asks only for its decision (the CLI's `--quiet` without a report file) writes the
 * same output and fails in the same ways as a run that measures the whole report; the report,
 * when asked for later, is the same report.
 */
const QIS = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'];
const dir = tempDir('veil-decision-');
const adultCsv = join(adultDir, 'adult.csv');

function adultPolicy(name: string, privacy: string, extra = ''): string {
  const qis = QIS.map((q) => `    - { column: ${q}, type: ${q === 'age' ? 'numeric' : 'categorical'}, hierarchy: ${JSON.stringify(join(adultDir, `adult_hierarchy_${q}.csv`))} }`);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, ['name: adult-decision', 'version: 1', 'tabular:', '  quasiIdentifiers:', ...qis, '  sensitive: [ { column: salary-class } ]', `  privacy: ${privacy}`, "  missingValues: ['', '?', 'NA']", extra, ''].join('\n'));
  return file;
}

/** The report without what differs from run to run (clock readings). */
function stable(report: TabularReport): unknown {
  const { createdAt: _createdAt, timingMs: _timing, ...rest } = report;
  return rest;
}

async function failure(run: () => Promise<unknown>): Promise<{ code: string; message: string; field?: string }> {
  try {
    await run();
  } catch (error) {
    if (!isVeilError(error)) throw error;
    return { code: error.code, message: error.message, field: error.location.field };
  }
  throw new Error('the run did not fail');
}

describe('decision-only runs', () => {
  it('Adult k=10, l=2, t=0.3: same CSV as the full run; the decision holds the report\'s answers', async () => {
    const policy = await loadPolicy(adultPolicy('klt', '{ k: 10, l: { variant: distinct, l: 2 }, t: { t: 0.3 }, suppressionLimit: 0.02 }'));
    const decision = await anonymizeCsvFile({ policy, input: adultCsv, output: join(dir, 'decided.csv'), measures: 'decision' });
    const report = await anonymizeCsvFile({ policy, input: adultCsv, output: join(dir, 'full.csv') });
    expect(readFileSync(join(dir, 'decided.csv'), 'utf8')).toBe(readFileSync(join(dir, 'full.csv'), 'utf8'));
    expect(decision.kind).toBe('veil-tabular-decision');
    expect(decision.satisfied).toBe(true);
    expect(decision.input).toEqual(report.input);
    expect(decision.classes).toBe(report.classes.count);
    expect(decision.suppressed).toBe(report.suppressed);
    const answer = (field: string) => decision.requirements.find((r) => r.field === field)?.achieved;
    expect(answer('tabular.privacy.k')).toBe(report.privacy.k.achieved);
    expect(answer('tabular.privacy.l')).toBe(report.privacy.l?.achieved);
    expect(Math.round((answer('tabular.privacy.t') ?? NaN) * 1e6) / 1e6).toBe(report.privacy.t?.achieved);
    expect(Object.keys(decision.timingMs)).toEqual(['read', 'prepare', 'partition', 'recode', 'measure', 'write', 'total']);
  });

  it('a report file asked for is measured and written even when only the decision is returned', async () => {
    const policy = await loadPolicy(adultPolicy('k10', '{ k: 10, suppressionLimit: 0.02 }'));
    const reportJson = join(dir, 'decided.json');
    const decision = await anonymizeCsvFile({ policy, input: adultCsv, output: join(dir, 'k10.csv'), reportJson, measures: 'decision' });
    const written = JSON.parse(readFileSync(reportJson, 'utf8')) as TabularReport;
    expect(written.kind).toBe('veil-tabular');
    expect(written.classes.count).toBe(decision.classes);
    expect(written.utility.published?.ncp).toBeGreaterThan(0);
  });

  it('the report measured later is anonymizeTable\'s report, measured once', async () => {
    const policy = await loadPolicy(adultPolicy('later', '{ k: 5, suppressionLimit: 0.02 }'));
    const tabular = policy.tabular;
    if (!tabular) throw new Error('no tabular section');
    const { table } = await readCsv(adultCsv);
    const options = { baseDir: policy.source.baseDir, policyFile: policy.source.file };
    const decided = decideTable(table, tabular, options);
    const full = anonymizeTable(table, tabular, options);
    expect(decided.output).toEqual(full.output);
    const report = decided.report();
    expect(decided.report()).toBe(report);
    expect(stable(report)).toEqual(stable(full.report));
  });

  it('a risk threshold the output misses fails both runs alike', async () => {
    const policy = await loadPolicy(adultPolicy('avg', '{ k: 2, suppressionLimit: 0.02, riskThreshold: { prosecutorAvg: 0.01 } }'));
    const decided = await failure(() => anonymizeCsvFile({ policy, input: adultCsv, output: join(dir, 'avg-d.csv'), measures: 'decision' }));
    const full = await failure(() => anonymizeCsvFile({ policy, input: adultCsv, output: join(dir, 'avg-f.csv') }));
    expect(decided).toEqual(full);
    expect(decided).toMatchObject({ code: 'POLICY_UNSATISFIABLE', field: 'tabular.privacy.riskThreshold.prosecutorAvg' });
  });

  it('a population table that cannot be read fails both runs alike', async () => {
    const policy = await loadPolicy(adultPolicy('population', '{ k: 10, suppressionLimit: 0.02 }', '  risk: { population: no-such-population.csv }'));
    const decided = await failure(() => anonymizeCsvFile({ policy, input: adultCsv, output: join(dir, 'pop-d.csv'), measures: 'decision' }));
    const full = await failure(() => anonymizeCsvFile({ policy, input: adultCsv, output: join(dir, 'pop-f.csv') }));
    expect(decided).toEqual(full);
    expect(decided).toMatchObject({ code: 'FILE_NOT_FOUND', field: 'tabular.risk.population' });
  });
});
