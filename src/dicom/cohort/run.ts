import type { Policy } from '../../policy/load.js';
import type { DicomCohortPolicy } from '../../policy/sections/dicom.js';
import type { CohortSummary } from '../report.js';
import type { CohortWrite } from './writeBack.js';

/** Runs the tabular engine on the patient-level table (placeholder until src/tabular/index.ts lands). */
export async function runCohort(
  _patients: Map<string, Record<string, string>>,
  _cohort: DicomCohortPolicy,
  _policy: Policy,
  _csvPath: string,
): Promise<{ writes: Record<string, CohortWrite>; summary: CohortSummary }> {
  throw new Error('cohort k-anonymity needs the tabular engine');
}
