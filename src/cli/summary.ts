import type { TabularReport } from '../report/tabularReport.js';

/** A few lines for the terminal after a tabular run. */
export function summarizeTabular(report: TabularReport, output: string): string {
  const p = report.privacy;
  const parts = [`k=${p.k.achieved ?? '-'} (required ${p.k.required}${p.entity ? `, people: distinct ${p.entity.column}` : ''})`];
  if (p.l) parts.push(`l=${p.l.achieved ?? '-'} (${p.l.variant}, required ${p.l.required})`);
  if (p.t) parts.push(`t=${p.t.achieved ?? '-'} (required ≤ ${p.t.required})`);
  return [
    `wrote ${output}: ${report.input.rows} records${p.entity ? ` of ${p.entity.people} people` : ''} in ${report.classes.count} classes, ${report.suppressed} suppressed`,
    `guarantees: ${parts.join(', ')} — ${p.satisfied ? 'met' : 'NOT met'}`,
    utilityLine(report),
    `risk: highest ${report.risk.before.prosecutorMax} → ${report.risk.after.prosecutorMax}, uniques ${report.risk.uniquesBefore} → ${report.risk.uniquesAfter}`,
    ...unreviewedColumns(report),
    ...(report.scheme
      ? [`scheme: ${report.scheme.used} of its ${report.scheme.classes} classes hold this batch; suppressed: ${report.scheme.unmatched} fitting no class, ${report.scheme.inFailingClasses} in classes under the policy${report.scheme.splitPeople > 0 ? `, ${report.scheme.splitPeople} of people spread over classes` : ''}`]
      : []),
    `time: ${report.timingMs.total ?? '?'} ms`,
    '',
  ].join('\n');
}

/** Loss on the published labels first (what a reader gets), then the observed spread. */
function utilityLine(report: TabularReport): string {
  const u = report.utility;
  const published = u.published ? `NCP on labels ${u.published.ncp}, ` : '';
  return `utility: loss on published labels GenILoss ${u.genILoss}, ${published}observed NCP ${u.ncp}, DM ${u.dm}, C_AVG ${u.cAvg}`;
}

/** Columns kept as they are without a role: the committee should have looked at them. */
function unreviewedColumns(report: TabularReport): string[] {
  const kept = report.columns.filter((c) => c.role === 'other' && c.action === 'keep').map((c) => c.column);
  return kept.length > 0 ? [`kept unchanged, with no role in the policy: ${kept.join(', ')}`] : [];
}
