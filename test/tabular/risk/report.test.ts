import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VeilError } from '../../../src/errors.js';
import { loadPolicy } from '../../../src/policy/load.js';
import { renderTabularHtml } from '../../../src/report/html/tabularHtml.js';
import type { TabularReport } from '../../../src/report/tabularReport.js';
import { readCsv } from '../../../src/tabular/csv/read.js';
import { anonymizeCsvFile } from '../../../src/tabular/file.js';
import { uniquenessEstimates } from '../../../src/tabular/risk/index.js';
import { tableToRows } from '../../../src/tabular/table.js';
import { adultDir, tempDir } from '../../helpers.js';
import { ADULT_QIS, adultInputClassSizes } from './adultClasses.js';

/** UCI Adult, k = 5, the 8 usual QIs with ARX's hierarchies (age numeric), as in test/tabular/adult.test.ts. */
const dir = tempDir('veil-risk-');

function policy(privacyExtra: string[], risk: string[] = []): string {
  const qis = ADULT_QIS.map((q) =>
    q === 'age' ? '    - { column: age, type: numeric }' : `    - { column: ${q}, type: categorical, hierarchy: ${JSON.stringify(join(adultDir, `adult_hierarchy_${q}.csv`))} }`,
  );
  return [
    'name: adult-risk', 'version: 1', 'tabular:', '  quasiIdentifiers:', ...qis, '  sensitive:', '    - { column: salary-class }',
    '  privacy:', ...privacyExtra.map((l) => `    ${l}`), '    suppressionLimit: 0.02', ...(risk.length ? ['  risk:', ...risk.map((l) => `    ${l}`)] : []), '',
  ].join('\n');
}

let counter = 0;
async function run(yaml: string): Promise<{ report: TabularReport; output: string }> {
  const name = `case${counter++}`;
  const policyFile = join(dir, `${name}.yaml`);
  writeFileSync(policyFile, yaml);
  const output = join(dir, `${name}.csv`);
  const report = await anonymizeCsvFile({ policy: await loadPolicy(policyFile), input: join(adultDir, 'adult.csv'), output });
  return { report, output };
}

async function smallestWrittenClass(output: string): Promise<number> {
  const rows = tableToRows((await readCsv(output)).table);
  const sizes = new Map<string, number>();
  for (const row of rows) {
    if (row.slice(0, 8).every((v) => v === '*')) continue;
    const key = row.slice(0, 8).join('|');
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
  }
  return Math.min(...sizes.values());
}

describe('risk models in the tabular report (UCI Adult, k = 5, 8 QIs, ARX hierarchies)', () => {
  it('sampling fraction 0.01: journalist and marketer risk, uniqueness estimates, before and after, in JSON and HTML', async () => {
    const { report } = await run(policy(['k: 5'], ['samplingFraction: 0.01']));
    const models = report.risk.models;
    expect(models).toBeDefined();
    if (!models) return;
    expect(models.population).toEqual({ basis: 'samplingFraction', samplingFraction: 0.01, size: 30162 / 0.01 });
    // the existing fields stay as they were
    expect(report.risk.prosecutorMax).toBeCloseTo(models.after.prosecutor.highest, 6);
    expect(report.risk.prosecutorAvg).toBeCloseTo(models.after.prosecutor.average, 6);
    expect(report.risk.uniquesBefore).toBe(14021);
    for (const side of [models.before, models.after]) {
      expect(side.journalist.highest).toBeLessThanOrEqual(side.prosecutor.highest);
      expect(side.journalist.average).toBeLessThanOrEqual(side.prosecutor.average);
      expect(side.marketer).toBeLessThanOrEqual(side.journalist.average + 1e-15);
    }
    const published = 30162 - report.suppressed;
    expect(models.after.journalist.highest).toBeCloseTo(0.01 / (report.classes.minSize ?? NaN), 12);
    expect(models.after.marketer).toBeCloseTo((0.01 * report.classes.count) / published, 12);
    expect(models.before.journalist.highest).toBeCloseTo(0.01, 12);
    // uniqueness of the input equals the estimators run on the raw class sizes
    const input = uniquenessEstimates(adultInputClassSizes(), 0.01);
    expect(models.uniqueness?.before).toEqual(input);
    expect(input.dankar.model).toBe('pitman');
    expect(models.uniqueness?.after.sampleUniques).toBe(0);
    expect(report.safeHarbor?.satisfied).toBe(true);

    const html = await renderTabularHtml(report);
    expect(html).toContain('Re-identification risk models');
    expect(html).toContain('journalist after');
    expect(html).toContain('Dankar et al.&#39;s choice');
    expect(html).toContain('HIPAA Safe Harbor');
    expect(html).toContain('Zayatz');
  }, 120_000);

  it('privacy.riskThreshold.prosecutorMax 0.1 is met like k: every class holds at least 10 records although k = 5', async () => {
    const { report, output } = await run(policy(['k: 5', 'riskThreshold: { prosecutorMax: 0.1 }']));
    expect(await smallestWrittenClass(output)).toBeGreaterThanOrEqual(10);
    expect(report.risk.models?.required).toEqual([{ measure: 'prosecutorMax', required: 0.1, achieved: report.risk.models?.after.prosecutor.highest, satisfied: true }]);
    expect(report.risk.prosecutorMax).toBeLessThanOrEqual(0.1);
  }, 120_000);

  it('privacy.riskThreshold.journalistMax with a sampling fraction: k = 2, f = 0.5, journalist ≤ 0.05 → classes of 10 or more', async () => {
    const { report, output } = await run(policy(['k: 2', 'riskThreshold: { journalistMax: 0.05 }'], ['samplingFraction: 0.5']));
    expect(await smallestWrittenClass(output)).toBeGreaterThanOrEqual(10);
    expect(report.risk.models?.after.journalist.highest).toBeLessThanOrEqual(0.05);
  }, 120_000);

  it('an average threshold the output cannot meet fails with the field and the figure', async () => {
    const attempt = run(policy(['k: 5', 'riskThreshold: { journalistAvg: 0.0001 }'], ['samplingFraction: 0.01']));
    await expect(attempt).rejects.toBeInstanceOf(VeilError);
    await expect(attempt).rejects.toMatchObject({ code: 'POLICY_UNSATISFIABLE', location: { field: 'tabular.privacy.riskThreshold.journalistAvg' } });
    await expect(attempt).rejects.toThrow(/average journalist risk is 0\.00\d+, above privacy\.riskThreshold\.journalistAvg = 0\.0001/);
  }, 120_000);

  it('a journalist threshold without a sampling fraction or population is a policy error', async () => {
    await expect(run(policy(['k: 5', 'riskThreshold: { journalistMax: 0.1 }']))).rejects.toMatchObject({ code: 'POLICY_INVALID', location: { field: 'tabular.privacy.riskThreshold.journalistMax' } });
  }, 120_000);

  it('a population table (every Adult record twice, path relative to the policy) halves journalist risk at least', async () => {
    const lines = (await readCsv(join(adultDir, 'adult.csv'))).table;
    const rows = tableToRows(lines);
    const header = ADULT_QIS;
    const at = header.map((q) => lines.columns.findIndex((c) => c.name === q));
    const body = rows.map((r) => at.map((i) => r[i]).join(';'));
    writeFileSync(join(dir, 'population.csv'), [header.join(';'), ...body, ...body].join('\n') + '\n');
    const { report } = await run(policy(['k: 5'], ['population: population.csv']));
    const models = report.risk.models;
    if (!models) throw new Error('no risk models in the report');
    expect(models.population.basis).toBe('table');
    expect(models.population.size).toBe(2 * 30162);
    // input: every population class is exactly twice the sample class
    expect(models.before.journalist.highest).toBeCloseTo(0.5, 12);
    expect(models.before.marketer).toBeCloseTo(18109 / (2 * 30162), 12);
    // output: a published class's labels cover at least both copies of its records
    expect(models.after.journalist.highest).toBeLessThanOrEqual(models.after.prosecutor.highest / 2 + 1e-12);
    expect(models.after.marketer).toBeLessThanOrEqual(models.after.prosecutor.average / 2 + 1e-12);
    expect(models.uniqueness?.before.samplingFraction).toBeCloseTo(0.5, 12);
  }, 120_000);

  it('a population path outside the policy folder is refused when the policy is read', async () => {
    for (const path of ['../people.csv', '/etc/passwd']) {
      const policyFile = join(dir, `outside${counter++}.yaml`);
      writeFileSync(policyFile, policy(['k: 5'], [`population: ${JSON.stringify(path)}`]));
      await expect(loadPolicy(policyFile)).rejects.toMatchObject({ code: 'POLICY_INVALID', location: { field: 'tabular.risk.population' }, message: expect.stringMatching(/relative to the policy file/) });
    }
  });
});
