import { mkdirSync, mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isVeilError, VeilError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { Policy } from '../../policy/load.js';
import { readDicom } from '../codec/read.js';
import { getText } from '../marking.js';
import type { PixelCleanerFactory } from '../pixelStep.js';
import type { DicomRunReport } from '../../report/dicomReport.js';
import { deidentifyDicomDirectory } from '../run.js';
import { findStudies, retrieveStudy, storeInstances, type DicomWebServer } from './dicomweb.js';

export interface PullOptions {
  policy: Policy;
  secret: Buffer;
  from: DicomWebServer;
  /** Studies by UID, or a QIDO-RS query (exactly one of the two). */
  studies?: readonly string[];
  query?: URLSearchParams;
  /** STOW-RS destination, or a folder (<new StudyInstanceUID>/<new SOPInstanceUID>.dcm), or both. */
  to?: DicomWebServer;
  out?: string;
  reportJson?: string;
  jobs?: number;
  pixelCleaner?: PixelCleanerFactory;
}

export interface PulledStudy {
  /** 1-based position in the selection: original UIDs stay out of the report. */
  position: number;
  /** The de-identified StudyInstanceUID (absent when no instance of the study came out). */
  studyUid?: string;
  retrieved: number;
  deidentified: number;
  /** Instances the pipeline refused, with the reason (no values). */
  rejected: { file: string; reason: string }[];
  status: 'stored' | 'written' | 'not-stored' | 'pending';
  reason?: string;
}

export interface PullReport {
  kind: 'veil-dicom-pull';
  policy: { name: string; version: number | string; sha256: string };
  from: string;
  to?: string;
  out?: string;
  studies: PulledStudy[];
  totals: { studies: number; retrieved: number; deidentified: number; rejected: number; stored: number; written: number; studiesStored: number };
  timingMs: number;
}

/** The StudyInstanceUIDs to pull: the given ones (deduplicated), or what a QIDO-RS query finds. */
export async function selectStudies(from: DicomWebServer, studies: readonly string[] | undefined, query: URLSearchParams | undefined): Promise<string[]> {
  if ((studies?.length ?? 0) > 0 === (query !== undefined)) throw new VeilError('USAGE', 'give --study UID (one or more) or --query, not both', { field: '--study' });
  return studies?.length ? [...new Set(studies)] : findStudies(from, query ?? new URLSearchParams());
}

/** The folder of the i-th study (0-based) under the input folder: positions, never UIDs. */
export function studyFolder(i: number): string {
  return `study-${String(i + 1).padStart(5, '0')}`;
}

/**
 * Retrieves every instance of each study (WADO-RS) into `input/study-NNNNN/NNNNNN.dcm`
 * (mode 0600), one instance in memory at a time. Returns the instance count of each study.
 */
export async function retrieveStudies(from: DicomWebServer, uids: readonly string[], input: string): Promise<number[]> {
  const counts: number[] = [];
  for (const [i, uid] of uids.entries()) {
    const dir = join(input, studyFolder(i));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    counts.push(await retrieveStudy(from, uid, `study ${i + 1} of ${uids.length}`, (bytes, n) => writeFileSync(join(dir, `${String(n + 1).padStart(6, '0')}.dcm`), bytes, { mode: 0o600 })));
  }
  return counts;
}

/** A fresh per-study record for each selected study, with its retrieved count. */
export function pulledStudies(counts: readonly number[]): PulledStudy[] {
  return counts.map((retrieved, i) => ({ position: i + 1, retrieved, deidentified: 0, rejected: [], status: 'pending' }));
}

/**
 * Sorts the folder run's records back into studies (by the study-NNNNN folder of the input)
 * and names each study by its new StudyInstanceUID. Returns the de-identified files of each
 * study (absolute paths under `output`) — only for studies in which no instance was rejected:
 * a study goes on whole or not at all, and the others are marked `not-stored` with the reason.
 */
export function studiesOfRun(run: DicomRunReport, output: string, studies: PulledStudy[]): Map<number, string[]> {
  const outputsOf = new Map<number, string[]>();
  for (const record of run.files) {
    const i = Number(/^study-(\d+)/.exec(record.input)?.[1] ?? 0) - 1;
    const study = studies[i];
    if (!study) continue;
    if (record.status === 'ok' && record.output) {
      study.deidentified++;
      outputsOf.set(i, [...(outputsOf.get(i) ?? []), join(output, record.output)]);
    } else {
      study.rejected.push({ file: record.input, reason: record.reason ?? record.status });
    }
  }
  for (const [i, study] of studies.entries()) {
    const files = outputsOf.get(i) ?? [];
    // the new UID names the study in the report even when it is not stored
    if (files.length > 0) study.studyUid = getText(readDicom(readFileSync(files[0])).dataset, 0x0020000d);
    if (study.rejected.length > 0 || files.length === 0) {
      study.status = 'not-stored';
      study.reason = files.length === 0 ? 'no instance was retrieved or de-identified' : `${study.rejected.length} of ${study.retrieved} instances could not be de-identified`;
      outputsOf.delete(i);
    }
  }
  return outputsOf;
}

/**
 * Stores one study by one STOW-RS request (parts are file-backed Blobs: nothing loaded whole).
 * Sets the study's status; returns how many instances the destination kept. A request that
 * fails throws (after marking the study).
 */
export async function storeStudy(to: DicomWebServer, study: PulledStudy, files: readonly string[], total: number): Promise<number> {
  try {
    const result = await storeInstances(to, await Promise.all(files.map((f) => openAsBlob(f, { type: 'application/dicom' }))), `study ${study.position} of ${total}`);
    if (result.failed > 0) {
      study.status = 'not-stored';
      study.reason = `the destination refused ${result.failed} of ${files.length} instances`;
    } else {
      study.status = 'stored';
    }
    return result.stored;
  } catch (error) {
    study.status = 'not-stored';
    study.reason = isVeilError(error) ? error.message : 'the store request failed';
    throw error;
  }
}

/**
 * `veil dicom pull`: finds studies (QIDO-RS) or takes them by UID, retrieves every instance
 * (WADO-RS) into a private temporary folder, runs the folder pipeline once on that folder (so
 * each instance comes out byte for byte as `veil dicom deidentify` writes it, and study- and
 * patient-level steps see every selected study), then stores each study by one STOW-RS request
 * only when every one of its instances was de-identified — a study is stored whole or not at all.
 * Nothing is sent before every study has been retrieved and de-identified.
 */
export async function pullStudies(options: PullOptions): Promise<PullReport> {
  const started = performance.now();
  if (!options.to && !options.out) throw new VeilError('USAGE', 'give --to URL or --out DIR', { field: '--to' });
  const uids = await selectStudies(options.from, options.studies, options.query);
  const report: PullReport = {
    kind: 'veil-dicom-pull',
    policy: { name: options.policy.name, version: options.policy.version, sha256: options.policy.source.sha256 },
    from: options.from.shown,
    to: options.to?.shown,
    out: options.out,
    studies: pulledStudies(uids.map(() => 0)),
    totals: { studies: uids.length, retrieved: 0, deidentified: 0, rejected: 0, stored: 0, written: 0, studiesStored: 0 },
    timingMs: 0,
  };
  const finish = async () => {
    report.timingMs = Math.round(performance.now() - started);
    if (options.reportJson) await writeFileAtomic(options.reportJson, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  };
  if (uids.length === 0) return finish();

  // a private folder (mode 0700): the retrieved instances are identifying until de-identified
  const work = mkdtempSync(join(tmpdir(), 'veil-pull-'));
  try {
    const input = join(work, 'in');
    const output = join(work, 'out');
    for (const [i, count] of (await retrieveStudies(options.from, uids, input)).entries()) {
      report.studies[i].retrieved = count;
      report.totals.retrieved += count;
    }
    const runReport = join(work, 'run.json');
    try {
      await deidentifyDicomDirectory({ policy: options.policy, input, output, reportJson: runReport, secret: options.secret, jobs: options.jobs, pixelCleaner: options.pixelCleaner });
    } catch (error) {
      // no instance could be de-identified: the run report (written first) says why per file
      if (!(isVeilError(error) && error.code === 'NO_USABLE_INPUT')) throw error;
    }
    const outputsOf = studiesOfRun(JSON.parse(readFileSync(runReport, 'utf8')) as DicomRunReport, output, report.studies);
    for (const study of report.studies) {
      report.totals.deidentified += study.deidentified;
      report.totals.rejected += study.rejected.length;
    }

    for (const [i, study] of report.studies.entries()) {
      const files = outputsOf.get(i);
      if (!files) continue;
      // one file in memory at a time: read for its UIDs (and --out), then let go
      if (options.out) {
        for (const [n, file] of files.entries()) {
          const bytes = readFileSync(file);
          const sop = getText(readDicom(bytes).meta, 0x00020003) ?? `instance-${n + 1}`;
          const target = join(resolve(options.out), study.studyUid ?? `study-${i + 1}`, `${sop}.dcm`);
          mkdirSync(join(target, '..'), { recursive: true });
          await writeFileAtomic(target, bytes);
        }
        report.totals.written += files.length;
        study.status = 'written';
      }
      if (options.to) {
        try {
          report.totals.stored += await storeStudy(options.to, study, files, uids.length);
        } catch (error) {
          await finish();
          throw error;
        }
        if (study.status === 'stored') report.totals.studiesStored++;
      }
    }
    return await finish();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
