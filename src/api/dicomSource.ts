/**
 * DICOM jobs whose input is pulled from a PACS over DICOMweb instead of uploaded
 * (`POST /v1/dicom/jobs` with a JSON body naming a `source`).
 *
 * The server talks only to the DICOMweb services its operator configured by name
 * (`veil serve --dicomweb-source NAME=URL`, `--dicomweb-destination NAME=URL`); a request names
 * one, never a URL, so no client can make the server fetch from or send to an address of its
 * choosing. Credentials come from the environment of the process that makes the requests
 * (`VEIL_DICOMWEB_<NAME>_TOKEN`, or `_USER` and `_PASSWORD`): the job process reads them, the
 * request and the database never hold them.
 *
 * Server side (in the request): validate the body, resolve the names, write the request to the
 * job's input folder (`source.json`: UIDs and the query are as identifying as an upload, so they
 * stay there, never in the job record or the audit log). Job side (in the job process): pull
 * with the code of `veil dicom pull` into the input folder, de-identify as an uploaded job does,
 * then store each whole study at the destination by STOW-RS, or leave the files for the zip.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { isVeilError, VeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { DicomWebAuth, DicomWebServer } from '../dicom/net/dicomweb.js';
import type { PulledStudy } from '../dicom/net/pull.js';
import type { DicomRunReport } from '../report/dicomReport.js';
import { appendAudit, type AuditPolicyRef } from './audit.js';
import type { ApiContext } from './context.js';
import type { Db } from './db.js';
import { ApiError } from './errors.js';
import type { JobSource } from './jobStore.js';

/** The DICOMweb services a server may use, by the operator's names (upper case). */
export interface DicomWebEndpoints {
  sources: ReadonlyMap<string, string>;
  destinations: ReadonlyMap<string, string>;
}

/** A name usable in an environment variable: VEIL_DICOMWEB_<NAME>_TOKEN. */
const ENDPOINT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const UID = /^[0-9]+(\.[0-9]+)*$/;
const MAX_STUDIES = 10_000;
const MAX_QUERY = 2048;

/** `NAME=URL` of `--dicomweb-source` / `--dicomweb-destination`; the name is kept upper case. */
export function parseDicomWebEndpoint(text: string, field: string): { name: string; url: string } {
  const match = /^([^=]+)=(.+)$/.exec(text.trim());
  if (!match || !ENDPOINT_NAME.test(match[1])) throw new VeilError('USAGE', 'expected NAME=URL, NAME being a letter then up to 31 letters, digits or "_" (e.g. PACS=http://pacs:8042/dicom-web)', { field });
  let url: URL;
  try {
    url = new URL(match[2]);
  } catch {
    throw new VeilError('USAGE', 'expected NAME=URL with an http:// or https:// URL of a DICOMweb service', { field });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new VeilError('USAGE', 'expected NAME=URL with an http:// or https:// URL of a DICOMweb service', { field });
  if (url.username || url.password) throw new VeilError('USAGE', `no credentials in the URL: set VEIL_DICOMWEB_${match[1].toUpperCase()}_TOKEN, or _USER and _PASSWORD, in the environment`, { field });
  if (url.search || url.hash) throw new VeilError('USAGE', 'the URL must not have a query or fragment', { field });
  return { name: match[1].toUpperCase(), url: url.toString().replace(/\/+$/, '') };
}

/** The endpoints of repeated `NAME=URL` options; a name given twice is refused. */
export function dicomWebEndpoints(sources: readonly string[], destinations: readonly string[]): DicomWebEndpoints {
  const table = (items: readonly string[], field: string) => {
    const map = new Map<string, string>();
    for (const item of items) {
      const { name, url } = parseDicomWebEndpoint(item, field);
      if (map.has(name)) throw new VeilError('USAGE', `the name ${name} is given twice`, { field });
      map.set(name, url);
    }
    return map;
  };
  return { sources: table(sources, '--dicomweb-source'), destinations: table(destinations, '--dicomweb-destination') };
}

/** Auth of one configured service from the environment: VEIL_DICOMWEB_<NAME>_TOKEN, or _USER and _PASSWORD. */
export function authForName(env: NodeJS.ProcessEnv, name: string): DicomWebAuth {
  const prefix = `VEIL_DICOMWEB_${name.toUpperCase()}_`;
  const token = env[`${prefix}TOKEN`];
  if (token) return { token };
  const user = env[`${prefix}USER`];
  return user ? { user, password: env[`${prefix}PASSWORD`] ?? '' } : {};
}

// ─── the request (server process) ────────────────────────────────────────────────────────────

/** What the job process needs, written to the job's input folder as source.json. */
export interface SourceRequest {
  source: { name: string; url: string; studies?: string[]; query?: string };
  destination?: { name: string; url: string };
}

const SOURCE_FILE = 'source.json';

/** A JSON body names a source instead of uploading files. */
export function isSourceRequest(req: Request): boolean {
  return req.is('application/json') !== false && req.is('application/json') !== null;
}

/**
 * For `POST /dicom/jobs`: a JSON body is parsed here and handed to `submit` (the same handler
 * an upload goes to); any other body goes on to the upload middleware. A numeric
 * `policyVersion` is taken as its text, as the form field would be.
 */
export function sourceJobBody(submit: (req: Request, res: Response) => Promise<void>) {
  const parse = express.json({ limit: '1mb', strict: true });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!isSourceRequest(req)) return next();
    parse(req, res, (error?: unknown) => {
      if (error) return next(new ApiError(400, 'BAD_JSON', 'the body is not a JSON object'));
      const body = req.body as unknown;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return next(new ApiError(400, 'BAD_JSON', 'the body must be a JSON object'));
      const fields = body as Record<string, unknown>;
      if (typeof fields.policyVersion === 'number') fields.policyVersion = String(fields.policyVersion);
      submit(req, res).catch(next);
    });
  };
}

function objectField(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(400, 'BAD_FIELD', 'expected a JSON object', field);
  return value as Record<string, unknown>;
}

function onlyKeys(object: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(object)) {
    if (allowed.includes(key)) continue;
    const where = field ? `${field}.${key}` : key;
    if (key === 'url') throw new ApiError(400, 'BAD_FIELD', 'a job names a source the operator configured ("name"), never a URL', where);
    throw new ApiError(400, 'BAD_FIELD', `unknown field; expected ${allowed.map((a) => `"${a}"`).join(', ')}`, where);
  }
}

function endpointName(value: unknown, configured: ReadonlyMap<string, string>, field: string, code: string, what: string): string {
  if (typeof value !== 'string' || !ENDPOINT_NAME.test(value)) throw new ApiError(400, 'BAD_FIELD', `name a configured DICOMweb ${what}`, field);
  const name = value.toUpperCase();
  if (!configured.has(name)) {
    const known = [...configured.keys()];
    throw new ApiError(400, code, `this server has no DICOMweb ${what} of that name (${known.length > 0 ? `configured: ${known.join(', ')}` : `none is configured: veil serve --dicomweb-${what} NAME=URL`})`, field);
  }
  return name;
}

/**
 * Validates a source job's body against the server's configuration and writes what the job
 * process needs to `inputDir/source.json`. Returns what the job record keeps.
 */
export async function placeSourceInput(ctx: ApiContext, req: Request, inputDir: string): Promise<JobSource> {
  const endpoints = ctx.dicomWeb ?? { sources: new Map(), destinations: new Map() };
  const body = req.body as Record<string, unknown>;
  onlyKeys(body, ['policy', 'policyVersion', 'source', 'destination'], '');
  if (body.source === undefined) throw new ApiError(400, 'BAD_FIELD', 'a JSON job names its source: {"source": {"dicomweb": {"name": …, "studies": […]}}}', 'source');
  const source = objectField(body.source, 'source');
  onlyKeys(source, ['dicomweb'], 'source');
  const web = objectField(source.dicomweb, 'source.dicomweb');
  onlyKeys(web, ['name', 'studies', 'query'], 'source.dicomweb');
  const name = endpointName(web.name, endpoints.sources, 'source.dicomweb.name', 'SOURCE_UNKNOWN', 'source');
  if ((web.studies === undefined) === (web.query === undefined)) throw new ApiError(400, 'BAD_FIELD', 'give "studies" (StudyInstanceUIDs) or "query" (QIDO-RS), not both', 'source.dicomweb.studies');
  const request: SourceRequest = { source: { name, url: endpoints.sources.get(name) as string } };
  let studies: number | null = null;
  if (web.studies !== undefined) {
    if (!Array.isArray(web.studies) || web.studies.length === 0 || web.studies.length > MAX_STUDIES) throw new ApiError(400, 'BAD_FIELD', `expected a list of 1 to ${MAX_STUDIES} StudyInstanceUIDs`, 'source.dicomweb.studies');
    web.studies.forEach((uid, i) => {
      if (typeof uid !== 'string' || uid.length > 64 || !UID.test(uid)) throw new ApiError(400, 'BAD_FIELD', 'expected a StudyInstanceUID (digits and dots, at most 64 characters)', `source.dicomweb.studies[${i}]`);
    });
    request.source.studies = [...new Set(web.studies as string[])];
    studies = request.source.studies.length;
  } else {
    if (typeof web.query !== 'string' || web.query.length === 0 || web.query.length > MAX_QUERY) throw new ApiError(400, 'BAD_FIELD', `expected a QIDO-RS query of 1 to ${MAX_QUERY} characters, e.g. "PatientID=…&StudyDate=20240101-20241231"`, 'source.dicomweb.query');
    const params = new URLSearchParams(web.query);
    const keys = [...params.keys()];
    if (keys.length === 0 || keys.some((key) => !/^[A-Za-z0-9]{1,64}$/.test(key))) throw new ApiError(400, 'BAD_FIELD', 'expected KEY=VALUE pairs joined by "&", each key a DICOM keyword or tag', 'source.dicomweb.query');
    request.source.query = params.toString();
  }
  let destination: string | undefined;
  if (body.destination !== undefined) {
    const target = objectField(body.destination, 'destination');
    onlyKeys(target, ['dicomweb'], 'destination');
    const targetWeb = objectField(target.dicomweb, 'destination.dicomweb');
    onlyKeys(targetWeb, ['name'], 'destination.dicomweb');
    destination = endpointName(targetWeb.name, endpoints.destinations, 'destination.dicomweb.name', 'DESTINATION_UNKNOWN', 'destination');
    request.destination = { name: destination, url: endpoints.destinations.get(destination) as string };
  }
  await mkdir(inputDir, { recursive: true });
  await writeFile(join(inputDir, SOURCE_FILE), `${JSON.stringify(request)}\n`, { mode: 0o600 });
  return { dicomweb: name, studies, ...(destination ? { destination } : {}) };
}

/** The audit entry that names a job's source (and destination): names and a count, never a UID or query. */
export function auditSource(db: Db, actor: { actor: string; role: string }, jobId: string, source: JobSource, policy: AuditPolicyRef): void {
  const studies = source.studies === null ? 'a query' : `${source.studies} stud${source.studies === 1 ? 'y' : 'ies'}`;
  const to = source.destination ? ` → dicomweb:${source.destination}` : '';
  appendAudit(db, { ...actor, action: 'job.source', target: `job:${jobId} ← dicomweb:${source.dicomweb} (${studies})${to}`, policy });
}

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
