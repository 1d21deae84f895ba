import type { TabularReport } from '../tabularReport.js';
import { barChart, binnedBarChart, renderSvg } from './charts.js';
import { escapeHtml, formatNumber, page, table } from './page.js';
import { RISK_MODEL_DEFINITIONS, riskModelsSection } from './riskModelsHtml.js';

/**
 * The auditor's view of a tabular report: guarantees required vs measured, the class-size
 * distribution, information loss per attribute, risk before vs after and what drives it.
 * Self-contained (inline SVG charts rendered with Vega-Lite); holds no data values.
 */
export async function renderTabularHtml(report: TabularReport): Promise<string> {
  return tabularPage(report, await renderTabularCharts(report));
}

/** The report's charts as inline SVG (the slow, asynchronous part of the page). */
export interface TabularCharts {
  sizes: string;
  loss: string;
  risk: string;
  drivers: string;
}

/**
 * Renders the charts. A run renders them before writing anything (so a failure leaves no
 * partial output) and builds the page with `tabularPage` once its timings are final, so the
 * page's timing line is the JSON report's `timingMs`, read and write included.
 */
export async function renderTabularCharts(report: TabularReport): Promise<TabularCharts> {
  const published = report.utility.published;
  const [sizes, loss, risk, drivers] = await Promise.all([
    renderSvg(report.classes.sizeBins
      ? binnedBarChart({
          title: `Equivalence class sizes (bins doubling from k = ${report.privacy.k.required})`,
          values: report.classes.sizeBins.map((b) => ({ from: b.from, to: b.to, count: b.classes, records: b.records })),
          xTitle: 'records in the class (log scale)', yTitle: 'classes',
        })
      : barChart({
          title: 'Equivalence class sizes',
          values: report.classes.sizeDistribution.map((b) => ({ size: b.size, classes: b.classes })),
          x: 'size', y: 'classes', xTitle: 'records in the class', yTitle: 'classes', xType: 'ordinal', sortX: false,
        })),
    renderSvg(barChart({
      title: 'Information loss per quasi-identifier',
      values: published
        ? published.perAttribute.flatMap((a, i) => [
            { column: a.column, metric: 'on the labels (GenILoss)', loss: a.genILoss },
            { column: a.column, metric: 'observed NCP', loss: report.utility.perAttribute[i]?.ncp ?? 0 },
          ])
        : report.utility.perAttribute.flatMap((a) => [
            { column: a.column, metric: 'NCP', loss: a.ncp },
            { column: a.column, metric: 'GenILoss', loss: a.genILoss },
          ]),
      x: 'column', y: 'loss', xTitle: 'quasi-identifier', yTitle: 'loss (0 = none, 1 = all)', color: 'metric',
    })),
    renderSvg(barChart({
      title: 'Re-identification risk before vs after',
      values: [
        { measure: 'highest record risk', when: 'before', value: report.risk.before.prosecutorMax },
        { measure: 'highest record risk', when: 'after', value: report.risk.after.prosecutorMax },
        { measure: 'average record risk', when: 'before', value: report.risk.before.prosecutorAvg },
        { measure: 'average record risk', when: 'after', value: report.risk.after.prosecutorAvg },
        { measure: 'share at risk', when: 'before', value: share(report.risk.before.recordsAtRisk, report.input.rows) },
        { measure: 'share at risk', when: 'after', value: share(report.risk.after.recordsAtRisk, report.input.rows) },
        { measure: 'share unique', when: 'before', value: share(report.risk.uniquesBefore, report.input.rows) },
        { measure: 'share unique', when: 'after', value: share(report.risk.uniquesAfter, report.input.rows) },
      ],
      x: 'measure', y: 'value', xTitle: '', yTitle: 'probability / share of records', color: 'when', sortX: false,
    })),
    renderSvg(barChart({
      title: 'What drives the risk: records unique on one attribute alone (input)',
      values: report.risk.drivers.map((d) => ({ column: d.column, records: d.uniquesAlone })),
      x: 'column', y: 'records', xTitle: 'quasi-identifier', yTitle: 'unique records',
    })),
  ]);
  return { sizes, loss, risk, drivers };
}

/** The whole page, from the report and its rendered charts (synchronous: nothing left to fail). */
export function tabularPage(report: TabularReport, charts: TabularCharts): string {
  const { sizes, loss, risk, drivers } = charts;
  const privacy = report.privacy;
  const status = guaranteeStatus(report);

  const body = `
<h1>Veil — tabular anonymization report</h1>
<p class="meta">Policy <b>${escapeHtml(report.policy.name)}</b> version ${escapeHtml(String(report.policy.version))} (sha256 ${escapeHtml(report.policy.sha256.slice(0, 16))}…) ·
${report.input.rows.toLocaleString('en-US')} records, ${report.input.columns} columns · ${escapeHtml(report.createdAt)} · Veil ${escapeHtml(report.veil.version)}</p>
${headline(report)}
<h2>Guarantees — ${status}</h2>
<p>Measured on the anonymized output, class by class; not copied from the policy.${privacy.entity ? ` k counts people, not records: ${privacy.entity.people.toLocaleString('en-US')} people, each with all of their records in one class.` : ''}</p>
${guaranteeTables(report)}
${disclosureSection(report)}
${publishedSection(report)}
<h2>Classes and utility</h2>
<div class="charts"><div class="chart">${sizes}</div><div class="chart">${loss}</div></div>
${table(['measure', 'value'], [
    ['classes', report.classes.count],
    ['smallest / largest class (records)', `${report.classes.minSize ?? '-'} / ${report.classes.maxSize ?? '-'}`],
    ...(report.utility.published
      ? [
          ['loss on published labels: GenILoss (headline)', report.utility.published.genILoss] as [string, number],
          ['loss on published labels: NCP', report.utility.published.ncp] as [string, number],
          ['observed NCP (spread of the original values in a class)', report.utility.ncp] as [string, number],
        ]
      : [
          ['NCP (normalized certainty penalty)', report.utility.ncp] as [string, number],
          ['GenILoss (Iyengar loss metric)', report.utility.genILoss] as [string, number],
        ]),
    ['DM (discernibility)', report.utility.dm],
    ['C_AVG (normalized average class size)', report.utility.cAvg],
  ])}
${report.utility.published ? '' : table(['quasi-identifier', 'kind', 'NCP', 'GenILoss'], report.utility.perAttribute.map((a) => [a.column, a.kind, a.ncp, a.genILoss]))}
<h2>Risk (prosecutor model)</h2>
<div class="charts"><div class="chart">${risk}</div><div class="chart">${drivers}</div></div>
${table(['', 'before', 'after'], [
    ['highest record risk', report.risk.before.prosecutorMax, report.risk.after.prosecutorMax],
    ['average record risk', report.risk.before.prosecutorAvg, report.risk.after.prosecutorAvg],
    [`records at risk (> ${report.risk.threshold})`, report.risk.before.recordsAtRisk, report.risk.after.recordsAtRisk],
    ['unique records', report.risk.uniquesBefore, report.risk.uniquesAfter],
  ])}
${riskModelsSection(report)}
<h2>Columns</h2>
${table(['column', 'role', 'action'], report.columns.map((c) => [c.column, c.role, c.action]))}
<h2>What the numbers mean</h2>
<dl>
<dt>k</dt><dd>Every record shares its quasi-identifier values with at least k−1 others (smallest class).</dd>
<dt>l (distinct / entropy)</dt><dd>Smallest number of distinct sensitive values in a class; entropy l is exp(entropy) of the class's sensitive distribution.</dd>
<dt>t</dt><dd>Largest Earth Mover's Distance between a class's sensitive distribution and the whole table's.</dd>
<dt>Loss on published labels (headline)</dt><dd>For each cell, how much of the column's domain the label a reader gets covers: width of the published interval over the column's range, or hierarchy leaves under the published node over all leaves. GenILoss (Iyengar, KDD 2002) counts (leaves − 1) / (all − 1); NCP on labels (Xu et al., KDD 2006) leaves / all, 0 for a single value. A suppressed cell costs 1. Mean over all cells.</dd>
<dt>Observed NCP</dt><dd>For each cell, how much of the column's range (numbers) or distinct values (categories) the ORIGINAL values of its class span; mean over all cells. It says how tight the classes are, not how coarse the labels are: a class of one month published as <code>*</code> costs almost nothing here and 1 on the published labels.</dd>
<dt><code>*</code></dt><dd>Means one of two things: a suppressed record (every quasi-identifier of the row is <code>*</code>), or a label at the root of a hierarchy whose top is written <code>*</code> (the class holds values from the whole domain). The published-loss table counts each.</dd>
<dt>Attribute disclosure</dt><dd>Being placed in a class reveals its most frequent sensitive value with probability (records with it) / (class size). Distinct l-diversity only counts values, so a class of 382 records of one value and 1 of another passes l = 2 (Machanavajjhala et al., ICDE 2006).</dd>
<dt>DM</dt><dd>Discernibility: each record costs the size of its class; a suppressed record costs the table size.</dd>
<dt>C_AVG</dt><dd>Average class size divided by k; 1 is the ideal.</dd>
<dt>Prosecutor risk</dt><dd>Chance of re-identifying a record for an attacker who knows the person is in the data: 1 / class size.</dd>${RISK_MODEL_DEFINITIONS}
</dl>
<ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
<p class="meta">Timing (ms): ${escapeHtml(Object.entries(report.timingMs).map(([k, v]) => `${k} ${v}`).join(' · '))}</p>
`;
  return page(`Veil report — ${report.policy.name}`, body);
}

function guaranteeStatus(report: TabularReport): string {
  return report.privacy.satisfied ? '<span class="ok">all guarantees met</span>' : '<span class="fail">guarantees NOT met</span>';
}

/** Required vs achieved, and what is measured on every sensitive column. */
function guaranteeTables(report: TabularReport): string {
  const privacy = report.privacy;
  const kLabel = privacy.entity ? `k-anonymity (people: distinct ${privacy.entity.column})` : 'k-anonymity';
  const rows: (string | number)[][] = [[kLabel, privacy.k.required, privacy.k.achieved ?? 'no classes']];
  if (privacy.l) rows.push([`l-diversity (${privacy.l.variant}${privacy.l.c !== undefined ? `, c = ${privacy.l.c}` : ''})`, privacy.l.required, privacy.l.achieved ?? 'no classes']);
  if (privacy.t) rows.push(['t-closeness (EMD, at most)', privacy.t.required, privacy.t.achieved ?? 'no classes']);
  rows.push(['suppressed records (at most)', Math.floor(report.suppressionLimit * report.input.rows), report.suppressed]);
  return `${table(['model', 'required', 'achieved'], rows)}
${privacy.sensitive.length > 0 ? table(['sensitive column', 'distinct l (min)', 'entropy l (min)', 't (max EMD)', 'distance'], privacy.sensitive.map((s) => [s.column, s.lDistinct, s.lEntropy, s.t, s.distance])) : ''}`;
}

/**
 * A tabular report embedded in another page (the DICOM cohort): headline, guarantees,
 * attribute disclosure, loss on the published labels and prosecutor risk, without charts.
 */
export function tabularSummary(report: TabularReport): string {
  return `${headline(report)}
<h3>Guarantees — ${guaranteeStatus(report)}</h3>
${guaranteeTables(report)}
${disclosureSection(report)}
${publishedSection(report).replace('<h2>', '<h3>').replace('</h2>', '</h3>')}
<h3>Risk (prosecutor model)</h3>
${table(['', 'before', 'after'], [
    ['highest record risk', report.risk.before.prosecutorMax, report.risk.after.prosecutorMax],
    ['average record risk', report.risk.before.prosecutorAvg, report.risk.after.prosecutorAvg],
    [`records at risk (> ${report.risk.threshold})`, report.risk.before.recordsAtRisk, report.risk.after.recordsAtRisk],
    ['unique records', report.risk.uniquesBefore, report.risk.uniquesAfter],
  ])}`;
}

/** The headline: the loss a reader of the output actually gets, and the attribute published coarsest. */
function headline(report: TabularReport): string {
  const published = report.utility.published;
  if (!published) return '';
  const worst = [...published.perAttribute].sort((a, b) => b.genILoss - a.genILoss)[0];
  const worstPart = worst
    ? `; coarsest <b>${escapeHtml(worst.column)}</b> ${formatNumber(worst.genILoss)} (${percent(worst.atRoot)} of its cells at the hierarchy root, ${percent(worst.suppressed)} suppressed)`
    : '';
  return `<p class="headline">Loss on the published labels: <b>${formatNumber(published.genILoss)}</b> (GenILoss, 0 = none, 1 = all)${worstPart}. Observed NCP ${formatNumber(report.utility.ncp)} measures the spread of the original values instead (see below).</p>`;
}

function publishedSection(report: TabularReport): string {
  const published = report.utility.published;
  if (!published) return '';
  const observed = new Map(report.utility.perAttribute.map((a) => [a.column, a]));
  return `<h2>Loss on the published labels</h2>
<p>What a reader of the output gets, per quasi-identifier: the share of the domain each published label covers, and how many cells are published at the hierarchy root (the whole domain) or suppressed. A <code>*</code> cell is one or the other: the last two columns count each.</p>
${table(['quasi-identifier', 'kind', 'GenILoss on labels', 'NCP on labels', 'at hierarchy root', 'suppressed', 'observed NCP', '"*" = suppressed record', '"*" = hierarchy root'], published.perAttribute.map((a) => [
    a.column, observed.get(a.column)?.kind ?? '', a.genILoss, a.ncp, percent(a.atRoot), percent(a.suppressed), observed.get(a.column)?.ncp ?? '', a.star.suppressedRecord, a.star.hierarchyRoot,
  ]))}
<p class="meta">Observed NCP, the second figure, measures how spread the original values of each class are; it stays small when a tight class is published under a coarse label (a class of one month published as the root).</p>`;
}

function disclosureSection(report: TabularReport): string {
  const rows = report.privacy.attributeDisclosure;
  if (!rows || rows.length === 0) return '';
  const warn = rows.some((d) => d.skewed.classes > 0);
  const sameRemedy = rows.every((d) => d.remedy === rows[0].remedy);
  return `<h3>Attribute disclosure${warn ? ' — <span class="fail">skewed classes</span>' : ''}</h3>
<p>Being placed in a class reveals its most frequent sensitive value with the probability below. Classes where one value holds ≥ ${percent(rows[0].skewed.threshold)} of the records meet distinct l-diversity yet reveal that value almost surely (counts only, never the values).</p>
${table(['sensitive column', 'highest disclosure probability', `classes with one value ≥ ${percent(rows[0].skewed.threshold)}`, 'records in them', 'share of records', 'worst ratio (dominant : rest)', ...(sameRemedy ? [] : ['what would reduce it'])], rows.map((d) => [
    d.column, d.highest, d.skewed.classes, d.skewed.records, percent(d.skewed.share),
    d.skewed.classes === 0 ? '-' : d.skewed.worstRatio === null ? `one value only (class of ${d.skewed.worstClassSize})` : `${formatNumber(d.skewed.worstRatio)} : 1 (class of ${d.skewed.worstClassSize})`,
    ...(sameRemedy ? [] : [d.remedy]),
  ]))}
${sameRemedy ? `<p><b>What would reduce it:</b> ${escapeHtml(rows[0].remedy)}.</p>` : ''}`;
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function share(count: number, total: number): number {
  return total > 0 ? count / total : 0;
}
