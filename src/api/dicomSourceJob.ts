/**
 * The job side of DICOM jobs whose input is pulled from a PACS over DICOMweb (the server side,
 * and what the design is, in dicomSource.ts): read the request the server wrote, pull the
 * studies, store the results. Apart from dicomSource.ts because that one loads Express for its
 * request handlers: every DICOM job process and queue plan step asks whether its job has a
 * source, and loading Express for that cost ≈ 0.25 CPU-s each.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isVeilError, VeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { DicomWebAuth, DicomWebServer } from '../dicom/net/dicomweb.js';
import type { PulledStudy } from '../dicom/net/pull.js';
import type { DicomRunReport } from '../report/dicomReport.js';

/** Auth of one configured service from the environment: VEIL_DICOMWEB_<NAME>_TOKEN, or _USER and _PASSWORD. */
export function authForName(env: NodeJS.ProcessEnv, name: string): DicomWebAuth {
  const prefix = `VEIL_DICOMWEB_${name.toUpperCase()}_`;
  const token = env[`${prefix}TOKEN`];
  if (token) return { token };
  const user = env[`${prefix}USER`];
  return user ? { user, password: env[`${prefix}PASSWORD`] ?? '' } : {};
}

/** What the job process needs, written to the job's input folder as source.json. */
export interface SourceRequest {
  source: { name: string; url: string; studies?: string[]; query?: string };
  destination?: { name: string; url: string };
}

export const SOURCE_FILE = 'source.json';

// ─── the job (job process) ───────────────────────────────────────────────────────────────────

/** The source request of a job, or undefined for an uploaded job. */
export function readSourceRequest(inputDir: string): SourceRequest | undefined {
  const file = join(inputDir, SOURCE_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as SourceRequest;
}

export interface PulledSource {
  /** The folder the pipeline reads: input/studies/study-NNNNN/NNNNNN.dcm. */
  input: string;
  studies: PulledStudy[];
}

function server(url: string, name: string, field: string, env: NodeJS.ProcessEnv, dicomWebServer: (url: string, field: string, auth: DicomWebAuth) => DicomWebServer): DicomWebServer {
  // messages name the service by its configured name, not its address
  return { ...dicomWebServer(url, field, authForName(env, name)), shown: `DICOMweb "${name}"` };
}

/**
 * Selects (QIDO-RS) and retrieves (WADO-RS) the source's studies into `inputDir/studies`.
 * An unreachable or failing source fails the job with SOURCE_UNREACHABLE; no study (a query
 * that matched none, a UID the source does not have) with NO_USABLE_INPUT.
 */
export async function pullSource(request: SourceRequest, inputDir: string, env: NodeJS.ProcessEnv, onPulled: (pulled: { studies: number; instances: number }) => Promise<void>): Promise<PulledSource> {
  const { dicomWebServer, DicomWebError } = await import('../dicom/net/dicomweb.js');
  const { pulledStudies, retrieveStudies, selectStudies } = await import('../dicom/net/pull.js');
  const field = 'source.dicomweb.name';
  const from = server(request.source.url, request.source.name, field, env, dicomWebServer);
  const input = join(inputDir, 'studies');
  // a re-run after a crash starts from an empty folder
  await rm(input, { recursive: true, force: true });
  const failure = (error: unknown): unknown => {
    if (!(error instanceof DicomWebError)) return error;
    if (error.httpStatus === 404) return new VeilError('NO_USABLE_INPUT', `${error.message}: the source does not have this study`, { field: 'source.dicomweb.studies' });
    return new VeilError('SOURCE_UNREACHABLE', error.message, { field });
  };
  let uids: string[];
  let counts: number[];
  try {
    uids = await selectStudies(from, request.source.studies, request.source.query === undefined ? undefined : new URLSearchParams(request.source.query));
    if (uids.length === 0) throw new VeilError('NO_USABLE_INPUT', `no study of the DICOMweb source "${request.source.name}" matched the query`, { field: 'source.dicomweb.query' });
    counts = await retrieveStudies(from, uids, input);
  } catch (error) {
    throw failure(error);
  }
  await onPulled({ studies: uids.length, instances: counts.reduce((a, b) => a + b, 0) });
  return { input, studies: pulledStudies(counts) };
}

/** What a source job's report adds to the pipeline's: per study by position, never an original UID. */
export interface SourceSection {
  dicomweb: string;
  destination?: string;
  studies: PulledStudy[];
  totals: { studies: number; retrieved: number; deidentified: number; rejected: number; stored: number; studiesStored: number };
}

/**
 * After the pipeline ran on the pulled folder: with a destination, each study whose instances
 * were all de-identified is stored by one STOW-RS request (whole or not at all) and the result
 * archive is left empty (the instances are at the destination); without, the files stay for
 * the zip as in an uploaded job. The report gets a `source` section either way.
 */
export async function deliverSource(request: SourceRequest, pulled: PulledSource, filesDir: string, reportJson: string, env: NodeJS.ProcessEnv): Promise<SourceSection> {
  const { studiesOfRun, storeStudy } = await import('../dicom/net/pull.js');
  const { dicomWebServer } = await import('../dicom/net/dicomweb.js');
  const report = JSON.parse(readFileSync(reportJson, 'utf8')) as DicomRunReport & { source?: SourceSection };
  // the pipeline's records name inputs relative to the folder it read: study-NNNNN/…
  const outputsOf = studiesOfRun(report, filesDir, pulled.studies);
  const section: SourceSection = {
    dicomweb: request.source.name,
    ...(request.destination ? { destination: request.destination.name } : {}),
    studies: pulled.studies,
    totals: { studies: pulled.studies.length, retrieved: 0, deidentified: 0, rejected: 0, stored: 0, studiesStored: 0 },
  };
  for (const study of pulled.studies) {
    section.totals.retrieved += study.retrieved;
    section.totals.deidentified += study.deidentified;
    section.totals.rejected += study.rejected.length;
  }
  if (request.destination) {
    const to = server(request.destination.url, request.destination.name, 'destination.dicomweb.name', env, dicomWebServer);
    for (const [i, files] of outputsOf) {
      try {
        section.totals.stored += await storeStudy(to, pulled.studies[i], files, pulled.studies.length);
      } catch (error) {
        throw new VeilError('DESTINATION_UNREACHABLE', isVeilError(error) ? error.message : 'the store request failed', { field: 'destination.dicomweb.name' });
      }
      if (pulled.studies[i].status === 'stored') section.totals.studiesStored++;
    }
    // the de-identified instances are at the destination: the result archive stays empty
    for (const name of await readdir(filesDir)) await rm(join(filesDir, name), { recursive: true, force: true });
  } else {
    // the zip holds every de-identified instance, as for an upload (rejected ones are listed)
    for (const study of pulled.studies) {
      if (study.deidentified > 0) {
        study.status = 'written';
        delete study.reason;
      }
    }
  }
  report.source = section;
  await writeFileAtomic(reportJson, `${JSON.stringify(report, null, 2)}\n`);
  return section;
}
