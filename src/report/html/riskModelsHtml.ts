import type { TabularReport } from '../tabularReport.js';
import type { RiskSummary } from '../../tabular/risk/reidentification.js';
import type { UniquenessEstimates } from '../../tabular/risk/uniqueness.js';
import { escapeHtml, table } from './page.js';

/**
 * The HTML section for the risk models an expert determination asks for: prosecutor,
 * journalist and marketer risk before and after, sample and population uniqueness, the policy's
 * risk thresholds, and the HIPAA Safe Harbor table. Counts, probabilities and column names only.
 */
export function riskModelsSection(report: TabularReport): string {
  const models = report.risk.models;
  const harbor = report.safeHarbor;
  if (!models && !harbor) return '';
  const parts: string[] = [];
  if (models) {
    const basis =
      models.population.basis === 'table'
        ? `a population table of ${fmt(models.population.size ?? 0)} people`
        : models.population.basis === 'samplingFraction'
          ? `a population estimated from the sampling fraction f = ${models.population.samplingFraction ?? ''} (${fmt(Math.round(models.population.size ?? 0))} people)`
          : 'the data itself (no sampling fraction or population table in the policy: journalist and marketer equal prosecutor)';
    const row = (label: string, pick: (r: RiskSummary) => number, fmtNumber = prob) => [
      label,
      fmtNumber(pick(models.before.prosecutor)), fmtNumber(pick(models.after.prosecutor)),
      fmtNumber(pick(models.before.journalist)), fmtNumber(pick(models.after.journalist)),
    ];
    parts.push(`<h2>Re-identification risk models</h2>
<p>Measured against ${escapeHtml(basis)}. A record is "above the threshold" when its risk exceeds ${models.threshold}.</p>
${table(['', 'prosecutor before', 'prosecutor after', 'journalist before', 'journalist after'], [
      row('highest record risk', (r) => r.highest),
      row('average record risk', (r) => r.average),
      row(`records above ${models.threshold}`, (r) => r.recordsAbove, fmt),
    ])}
${table(['', 'before', 'after'], [['marketer risk (expected share of records re-identified)', prob(models.before.marketer), prob(models.after.marketer)]])}`);
    if (models.required.length > 0) {
      parts.push(table(['risk threshold (privacy.riskThreshold)', 'required (at most)', 'achieved', ''], models.required.map((r) => [r.measure, prob(r.required), prob(r.achieved), r.satisfied ? 'met' : 'NOT met'])));
    }
    if (models.uniqueness) {
      const u = models.uniqueness;
      const cell = (x: number | null) => (x === null ? 'no solution' : pct(x));
      const line = (label: string, pick: (e: UniquenessEstimates) => string) => [label, pick(u.before), pick(u.after)];
      parts.push(`<h3>Uniqueness (sampling fraction ${u.before.samplingFraction})</h3>
${table(['', 'before', 'after'], [
        line('sample uniques (records alone in their class)', (e) => `${fmt(e.sampleUniques)} (${pct(e.sampleUniqueness)})`),
        line('population uniqueness — Pitman', (e) => cell(e.pitman)),
        line('population uniqueness — Zayatz', (e) => cell(e.zayatz)),
        line('population uniqueness — SNB', (e) => cell(e.snb)),
        line("population uniqueness — Dankar et al.'s choice", (e) => `${pct(e.dankar.populationUniqueness)} (${e.dankar.model})`),
      ])}`);
    } else {
      parts.push('<p>Population uniqueness is not estimated: the policy gives no sampling fraction or population table (<code>tabular.risk</code>).</p>');
    }
  }
  if (harbor) {
    parts.push(`<h2>HIPAA Safe Harbor — ${harbor.satisfied ? '<span class="ok">no identifier found</span>' : '<span class="fail">identifiers remain or need review</span>'}</h2>
<p>The 18 kinds of identifiers of 45 CFR §164.514(b)(2)(i), looked for in the output by column name and value shape. A pass is evidence, not proof.</p>
${table(['', 'identifier', 'result', 'columns (cells)', 'what was checked'], harbor.rules.map((r) => [
      r.id, r.identifier, r.status, r.columns.map((c) => `${c.column} (${fmt(c.cells)})`).join(', ') || '—', r.check,
    ]))}`);
  }
  return parts.join('\n');
}

/** Definitions for "What the numbers mean", with the papers the models come from. */
export const RISK_MODEL_DEFINITIONS = `
<dt>Journalist risk</dt><dd>The attacker knows the person is in a population the data were sampled from: 1 / (size of the matching population class), with a population table or, from a sampling fraction f, class size / f. Never above prosecutor risk. (El Emam, <i>Guide to the De-Identification of Personal Health Information</i>, 2013.)</dd>
<dt>Marketer risk</dt><dd>The expected share of records re-identified by an attacker matching everyone: Σ over classes of (records in the sample class / people in the population class), divided by the records. Never above the average journalist risk.</dd>
<dt>Sample / population uniqueness</dt><dd>Share of records alone in their class in the data, and estimated share of the population alone in theirs: Pitman's sampling formula (Pitman 1996; Hoshino, J. Official Statistics 2001), Zayatz (US Census SRD report RR-91/08, 1991), the slide negative binomial (Chen &amp; Keller-McNulty, J. Official Statistics 1998). Dankar et al.'s rule (BMC Med Inform Decis Mak 12:66, 2012) picks Pitman for f ≤ 0.1, else the smaller of Zayatz and SNB.</dd>
<dt>Safe Harbor</dt><dd>HIPAA's list of 18 identifier kinds; "review" means the check needs data the policy did not give (e.g. ZIP populations).</dd>`;

function prob(x: number): string {
  if (x === 0) return '0';
  return x >= 0.001 ? x.toFixed(4) : x.toPrecision(3);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function fmt(x: number): string {
  return x.toLocaleString('en-US');
}
