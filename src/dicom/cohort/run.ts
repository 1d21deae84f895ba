import { writeFileAtomic } from '../../io/atomic.js';
import type { Policy } from '../../policy/load.js';
import type { DicomCohortPolicy } from '../../policy/sections/dicom.js';
import type { TabularPolicy } from '../../policy/sections/tabular.js';
import { anonymizeTable, tableFromRows, tableToRows } from '../../tabular/index.js';
import { lookupKeyword } from '../../standard/dicomDictionary.js';
import type { CohortSummary } from '../../report/dicomReport.js';
import type { CohortWrite } from './writeBack.js';

const NUMERIC_VRS = new Set(['DS', 'IS', 'US', 'UL', 'SS', 'SL', 'FL', 'FD']);

/** PatientAge is extracted in years; numbers by VR; everything else is categorical. */
export function isNumericKeyword(keyword: string): boolean {
  if (keyword === 'PatientAge') return true;
  const vr = lookupKeyword(keyword)?.vr;
  return vr !== undefined && NUMERIC_VRS.has(vr);
}

/** The tabular policy the cohort section stands for (one row per pseudonymous patient). */
export function cohortTabularPolicy(cohort: DicomCohortPolicy): TabularPolicy {
  return {
    identifiers: [],
    quasiIdentifiers: cohort.quasiIdentifiers.map((column) => ({ column, type: isNumericKeyword(column) ? 'numeric' : 'categorical', minLevel: 0 })),
    sensitive: cohort.sensitive.map((column) => ({ column, type: isNumericKeyword(column) ? 'numeric' : 'categorical' })),
    privacy: { k: cohort.k, l: cohort.l, t: cohort.t, suppressionLimit: cohort.suppressionLimit },
    otherColumns: 'keep',
    missingValues: [''],
  };
}

const PATIENT_COLUMN = 'patient';
const SUPPRESSION_REASON = 'no group of at least k patients could hold this patient within the policy';

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * k-anonymizes the patient-level table with the tabular engine, writes cohort.csv (only the
 * patients kept, with their generalized cells) and says per patient what to write back into
 * the headers or whether the patient is suppressed (left out of the export).
 */
export async function runCohort(
  patients: Map<string, Record<string, string>>,
  cohort: DicomCohortPolicy,
  policy: Policy,
  csvPath: string,
): Promise<{ writes: Record<string, CohortWrite>; summary: CohortSummary }> {
  const columns = [...new Set([...cohort.quasiIdentifiers, ...cohort.sensitive])];
  const ids = [...patients.keys()].sort();
  const summary: CohortSummary = {
    patients: ids.length,
    quasiIdentifiers: [...cohort.quasiIdentifiers],
    suppressedPatients: [],
    tabular: null,
    writeBack:
      'generalized cells are written where the VR can hold them as text (LO, SH, LT, ST, UT, UC); AS, DS, IS and CS cannot hold a range or a set, so those elements are emptied; exact values stay only in cohort.csv as ranges',
  };
  const writes: Record<string, CohortWrite> = {};
  if (ids.length === 0) return { writes, summary };
  const rows = ids.map((id) => [id, ...columns.map((c) => patients.get(id)?.[c] ?? '')]);
  const table = tableFromRows([PATIENT_COLUMN, ...columns], rows);
  const result = anonymizeTable(table, cohortTabularPolicy(cohort), {
    baseDir: policy.source.baseDir,
    policyFile: policy.source.file,
    policyInfo: { name: policy.name, version: policy.version, sha256: policy.source.sha256 },
  });
  const outRows = tableToRows(result.output);
  const csv: string[] = [[PATIENT_COLUMN, ...columns].join(',')];
  outRows.forEach((row, r) => {
    const id = ids[r];
    if (result.suppressed[r] === 1) {
      writes[id] = { suppressed: true, reason: SUPPRESSION_REASON, values: {} };
      summary.suppressedPatients.push({ patient: id, reason: SUPPRESSION_REASON });
      return;
    }
    const values: Record<string, string> = {};
    columns.forEach((column, c) => {
      if (row[c + 1] !== rows[r][c + 1]) values[column] = row[c + 1];
    });
    if (Object.keys(values).length > 0) writes[id] = { suppressed: false, values };
    csv.push([id, ...row.slice(1)].map(csvCell).join(','));
  });
  await writeFileAtomic(csvPath, `${csv.join('\n')}\n`);
  summary.csv = 'cohort.csv';
  summary.tabular = result.report;
  return { writes, summary };
}
