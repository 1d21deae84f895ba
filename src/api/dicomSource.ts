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
 * The job side is in dicomSourceJob.ts, which does not load Express.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { VeilError } from '../errors.js';
import { SOURCE_FILE, type SourceRequest } from './dicomSourceJob.js';
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

// ─── the request (server process) ────────────────────────────────────────────────────────────

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
