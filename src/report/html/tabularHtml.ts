import type { TabularReport } from '../tabularReport.js';
import { barChart, renderSvg } from './charts.js';
import { escapeHtml, page, table } from './page.js';
import { RISK_MODEL_DEFINITIONS, riskModelsSection } from './riskModelsHtml.js';

/**
 * The auditor's view of a tabular report: guarantees required vs measured, the class-size
 * distribution, information loss per attribute, risk before vs after and what drives it.
 * Self-contained (inline SVG charts rendered with Vega-Lite); holds no data values.
 */
export async function renderTabularHtml(report: TabularReport): Promise<string> {
  const privacy = report.privacy;
  const status = privacy.satisfied ? '<span class="ok">all guarantees met</span>' : '<span class="fail">guarantees NOT met</span>';
  const kLabel = privacy.entity ? `k-anonymity (people: distinct ${privacy.entity.column})` : 'k-anonymity';
  const guaranteeRows: (string | number)[][] = [[kLabel, privacy.k.required, privacy.k.achieved ?? 'no classes']];
  if (privacy.l) guaranteeRows.push([`l-diversity (${privacy.l.variant}${privacy.l.c !== undefined ? `, c = ${privacy.l.c}` : ''})`, privacy.l.required, privacy.l.achieved ?? 'no classes']);
  if (privacy.t) guaranteeRows.push(['t-closeness (EMD, at most)', privacy.t.required, privacy.t.achieved ?? 'no classes']);
  guaranteeRows.push(['suppressed records (at most)', Math.floor(report.suppressionLimit * report.input.rows), report.suppressed]);

  const [sizes, loss, risk, drivers] = await Promise.all([
    renderSvg(barChart({
      title: 'Equivalence class sizes',
      values: report.classes.sizeDistribution.map((b) => ({ size: b.size, classes: b.classes })),
      x: 'size', y: 'classes', xTitle: 'records in the class', yTitle: 'classes', xType: 'ordinal', sortX: false,
    })),
    renderSvg(barChart({
      title: 'Information loss per quasi-identifier',
      values: report.utility.perAttribute.flatMap((a) => [
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

  const body = `
<h1>Veil — tabular anonymization report</h1>
<p class="meta">Policy <b>${escapeHtml(report.policy.name)}</b> version ${escapeHtml(String(report.policy.version))} (sha256 ${escapeHtml(report.policy.sha256.slice(0, 16))}…) ·
${report.input.rows.toLocaleString('en-US')} records, ${report.input.columns} columns · ${escapeHtml(report.createdAt)} · Veil ${escapeHtml(report.veil.version)}</p>
<h2>Guarantees — ${status}</h2>
<p>Measured on the anonymized output, class by class; not copied from the policy.${privacy.entity ? ` k counts people, not records: ${privacy.entity.people.toLocaleString('en-US')} people, each with all of their records in one class.` : ''}</p>
${table(['model', 'required', 'achieved'], guaranteeRows)}
${privacy.sensitive.length > 0 ? table(['sensitive column', 'distinct l (min)', 'entropy l (min)', 't (max EMD)', 'distance'], privacy.sensitive.map((s) => [s.column, s.lDistinct, s.lEntropy, s.t, s.distance])) : ''}
<h2>Classes and utility</h2>
<div class="charts"><div class="chart">${sizes}</div><div class="chart">${loss}</div></div>
${table(['measure', 'value'], [
    ['classes', report.classes.count],
    ['smallest / largest class (records)', `${report.classes.minSize ?? '-'} / ${report.classes.maxSize ?? '-'}`],
    ['NCP (normalized certainty penalty)', report.utility.ncp],
    ['GenILoss (Iyengar loss metric)', report.utility.genILoss],
    ['DM (discernibility)', report.utility.dm],
    ['C_AVG (normalized average class size)', report.utility.cAvg],
  ])}
${table(['quasi-identifier', 'kind', 'NCP', 'GenILoss'], report.utility.perAttribute.map((a) => [a.column, a.kind, a.ncp, a.genILoss]))}
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
<dt>NCP</dt><dd>For each cell, how much of the column's range (numbers) or distinct values (categories) its class spans; mean over all cells.</dd>
<dt>GenILoss</dt><dd>Iyengar's loss: width of the published interval or share of hierarchy leaves under the published node, mean over all cells.</dd>
<dt>DM</dt><dd>Discernibility: each record costs the size of its class; a suppressed record costs the table size.</dd>
<dt>C_AVG</dt><dd>Average class size divided by k; 1 is the ideal.</dd>
<dt>Prosecutor risk</dt><dd>Chance of re-identifying a record for an attacker who knows the person is in the data: 1 / class size.</dd>${RISK_MODEL_DEFINITIONS}
</dl>
<ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
<p class="meta">Timing (ms): ${escapeHtml(Object.entries(report.timingMs).map(([k, v]) => `${k} ${v}`).join(' · '))}</p>
`;
  return page(`Veil report — ${report.policy.name}`, body);
}

function share(count: number, total: number): number {
  return total > 0 ? count / total : 0;
}
