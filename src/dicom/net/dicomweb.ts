import { VeilError } from '../../errors.js';
import { readDicom } from '../codec/read.js';
import { boundaryOf, contentTypeParam, MultipartError, newBoundary, readMultipartStream, writeMultipart } from './multipartRelated.js';

/**
 * A DICOMweb server (PS3.18): QIDO-RS to find studies, WADO-RS to retrieve them, STOW-RS to
 * store instances. Credentials come from the caller (environment variables, read at the CLI
 * edge) and never appear in a message; neither does a URL's userinfo nor a query (it may hold
 * a patient ID) nor a study UID (messages name a study by its position instead).
 */
export interface DicomWebAuth {
  token?: string;
  user?: string;
  password?: string;
}

export interface DicomWebServer {
  /** Base URL without credentials, e.g. http://pacs:8042/dicom-web */
  base: string;
  /** The base as messages show it (no userinfo, no query). */
  shown: string;
  authorization?: string;
  /** Which option named this server, for error lines (--from, --to). */
  field: string;
}

const DICOM = 'application/dicom';

/** Parses a DICOMweb base URL; userinfo in it is used as basic auth when no other auth is given. */
export function dicomWebServer(url: string, field: string, auth: DicomWebAuth = {}): DicomWebServer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new VeilError('USAGE', 'expected an http:// or https:// URL of a DICOMweb service', { field });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new VeilError('USAGE', 'expected an http:// or https:// URL of a DICOMweb service', { field });
  if (parsed.search || parsed.hash) throw new VeilError('USAGE', 'the URL must not have a query or fragment (use --query)', { field });
  const user = auth.user ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined);
  const password = auth.password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined);
  parsed.username = '';
  parsed.password = '';
  const base = parsed.toString().replace(/\/+$/, '');
  let authorization: string | undefined;
  if (auth.token) authorization = `Bearer ${auth.token}`;
  else if (user !== undefined) authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
  return { base, shown: base, authorization, field };
}

/**
 * Auth for one side from the environment: VEIL_DICOMWEB_<SIDE>_TOKEN, or _USER and _PASSWORD,
 * falling back to the unprefixed VEIL_DICOMWEB_TOKEN / _USER / _PASSWORD shared by both sides.
 */
export function authFromEnv(env: NodeJS.ProcessEnv, side: 'FROM' | 'TO'): DicomWebAuth {
  const pick = (name: string) => env[`VEIL_DICOMWEB_${side}_${name}`] ?? env[`VEIL_DICOMWEB_${name}`];
  const token = pick('TOKEN');
  if (token) return { token };
  const user = pick('USER');
  return user ? { user, password: pick('PASSWORD') ?? '' } : {};
}

/**
 * A DICOMweb request that failed: `httpStatus` is the server's answer, absent when the server
 * could not be reached at all. A VeilError (USAGE) so that the CLI prints its one line.
 */
export class DicomWebError extends VeilError {
  readonly httpStatus: number | undefined;

  constructor(message: string, field: string, httpStatus?: number) {
    super('USAGE', message, { field });
    this.name = 'DicomWebError';
    this.httpStatus = httpStatus;
  }
}

/** `what` names the request without values: "QIDO-RS {base}/studies", "WADO-RS {base}/studies/(study 2 of 5)". */
async function request(server: DicomWebServer, path: string, what: string, init: { method?: string; accept: string; body?: Blob; contentType?: string }): Promise<Response> {
  const headers: Record<string, string> = { accept: init.accept };
  if (server.authorization) headers.authorization = server.authorization;
  if (init.contentType) headers['content-type'] = init.contentType;
  let response: Response;
  try {
    response = await fetch(server.base + path, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'error' });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
    throw new DicomWebError(`${what}: the server cannot be reached${code}`, server.field);
  }
  if (!response.ok) {
    await response.body?.cancel();
    const why = response.status === 401 || response.status === 403 ? ' (check VEIL_DICOMWEB_* credentials)' : response.status === 404 ? ' (not found)' : '';
    throw new DicomWebError(`${what}: the server answered HTTP ${response.status}${why}`, server.field, response.status);
  }
  return response;
}

/**
 * The StudyInstanceUIDs QIDO-RS finds for a query (DICOM JSON, PS3.18 F.2). Servers cap their
 * answers, so unless the query sets limit or offset itself, pages of `pageSize` are asked with
 * offset until one is short or brings nothing new (a server that ignores offset).
 */
export async function findStudies(server: DicomWebServer, query: URLSearchParams, pageSize = 1000): Promise<string[]> {
  const what = `QIDO-RS ${server.shown}/studies`;
  const paged = !query.has('limit') && !query.has('offset');
  const uids = new Set<string>();
  for (let offset = 0; ; offset += pageSize) {
    const params = new URLSearchParams(query);
    params.set('includefield', '0020000D');
    if (paged) {
      params.set('limit', String(pageSize));
      params.set('offset', String(offset));
    }
    const page = await findPage(server, params, what, offset);
    const before = uids.size;
    for (const uid of page) uids.add(uid);
    if (!paged || page.length < pageSize || uids.size === before) return [...uids];
  }
}

async function findPage(server: DicomWebServer, params: URLSearchParams, what: string, offset: number): Promise<string[]> {
  const response = await request(server, `/studies?${params.toString()}`, what, { accept: 'application/dicom+json' });
  if (response.status === 204) return [];
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new VeilError('USAGE', `${what}: the answer is not DICOM JSON`, { field: server.field });
  }
  if (!Array.isArray(json)) throw new VeilError('USAGE', `${what}: the answer is not a DICOM JSON array`, { field: server.field });
  return json.map((study, i) => {
    const value = (study as Record<string, { Value?: unknown[] } | undefined>)['0020000D']?.Value?.[0];
    if (typeof value !== 'string' || !/^[0-9.]{1,64}$/.test(value)) throw new VeilError('USAGE', `${what}: result ${offset + i + 1} has no StudyInstanceUID`, { field: server.field });
    return value;
  });
}

/**
 * Every instance of a study as Part-10 bytes (WADO-RS, multipart/related of application/dicom,
 * transfer syntax as stored so that pixels come out as from the stored file), handed to
 * `onInstance` one by one as the answer streams in: one instance at a time in memory.
 * Returns how many there were.
 */
export async function retrieveStudy(server: DicomWebServer, studyUid: string, position: string, onInstance: (bytes: Uint8Array, index: number) => void): Promise<number> {
  const what = `WADO-RS ${server.shown}/studies/(${position})`;
  const response = await request(server, `/studies/${encodeURIComponent(studyUid)}`, what, { accept: `multipart/related; type="${DICOM}"; transfer-syntax=*` });
  const contentType = response.headers.get('content-type') ?? '';
  const boundary = boundaryOf(contentType);
  if (!boundary || !response.body) {
    await response.body?.cancel();
    throw new VeilError('DICOM_INVALID', `${what}: expected a multipart/related answer, got ${contentType.split(';')[0] || 'no content type'}`, { field: server.field });
  }
  let count = 0;
  try {
    for await (const part of readMultipartStream(response.body, boundary)) {
      const type = (part.headers.get('content-type') ?? contentTypeParam(contentType, 'type') ?? '').split(';')[0].trim().toLowerCase();
      if (type !== DICOM || !isDicom(part.body)) throw new VeilError('DICOM_INVALID', `${what}: part ${count + 1} is not a DICOM instance`, { field: server.field });
      onInstance(part.body, count++);
    }
  } catch (error) {
    if (error instanceof MultipartError) throw new VeilError('DICOM_INVALID', `${what}: ${error.message}`, { field: server.field });
    if (error instanceof TypeError) throw new DicomWebError(`${what}: the connection broke during the answer`, server.field);
    throw error;
  }
  return count;
}

/** Whether the codec reads it: a Part-10 file, or a bare data set as some archives store (a PACS returns what it was sent). */
function isDicom(bytes: Uint8Array): boolean {
  try {
    readDicom(bytes);
    return true;
  } catch {
    return false;
  }
}

/** What STOW-RS said: instances it refused (Failed SOP Sequence, 0008,1198). */
export interface StoreResult {
  stored: number;
  failed: number;
}

/**
 * Stores instances in one STOW-RS request (one study at a time, so a study is stored whole or
 * answered as failed). Parts may be file-backed Blobs (fs.openAsBlob): nothing is loaded whole.
 */
export async function storeInstances(server: DicomWebServer, instances: readonly (Uint8Array | Blob)[], position: string): Promise<StoreResult> {
  const what = `STOW-RS ${server.shown}/studies (${position})`;
  const boundary = newBoundary();
  const body = new Blob(writeMultipart(instances, DICOM, boundary));
  const response = await request(server, '/studies', what, {
    method: 'POST',
    accept: 'application/dicom+json',
    contentType: `multipart/related; type="${DICOM}"; boundary=${boundary}`,
    body,
  });
  const text = await response.text();
  let failed = 0;
  if (text.trim()) {
    try {
      const json = JSON.parse(text) as Record<string, { Value?: unknown[] } | undefined>;
      failed = json['00081198']?.Value?.length ?? 0;
    } catch {
      // a server that answers 200 with no DICOM JSON stored everything (PS3.18 10.5.3)
    }
  }
  return { stored: instances.length - failed, failed };
}
