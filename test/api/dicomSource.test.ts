import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dicomWebEndpoints } from '../../src/api/dicomSource.js';
import { extractZipSafely } from '../../src/api/zip.js';
import { readDicom } from '../../src/dicom/codec/read.js';
import { deidentifyDicomDirectory, remapUid } from '../../src/dicom/index.js';
import { getText } from '../../src/dicom/marking.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { freePort, hasOrthanc, startOrthanc, type Orthanc } from '../dicom/net/orthanc.js';
import { sharedDicom } from '../dicom/helpers.js';
import { startTestApi, tempDir, type TestApi } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

/**
 * `POST /v1/dicom/jobs` with a DICOMweb source instead of an upload, against real Orthanc
 * servers on loopback: a source PACS and a research PACS. The server knows them by the names its
 * operator gave; a request can name only those.
 */
const SECRET = 'dicom-source-test-secret-0123456789';
const POLICY = 'name: ct\nversion: 1\ndicom: { profile: basic }\n';
const FILES = ['CT_small.dcm', 'MR_small.dcm', 'emri_small.dcm', 'liver.dcm', 'rtplan.dcm'];
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const suite = hasOrthanc ? describe : describe.skip;
if (!hasOrthanc) console.warn('test/api/dicomSource: Orthanc is not installed (apt-get install -y orthanc orthanc-dicomweb): skipped');

suite('DICOM jobs pulled from a configured DICOMweb source', () => {
  let t: TestApi;
  let work: { dir: string; cleanup(): void };
  let source: Orthanc;
  let research: Orthanc;
  /** StudyInstanceUID and PatientID of each file the source holds. */
  const studies: string[] = [];
  const patientIds: string[] = [];
  /** sha256 of the folder path's output of the very files the source holds, same key. */
  const folderHashes = new Set<string>();
  const secret = Buffer.from(SECRET);

  beforeAll(async () => {
    process.env.VEIL_SECRET = SECRET;
    work = tempDir('veil-source-');
    source = await startOrthanc(join(work.dir, 'source'), 'SOURCE', {});
    research = await startOrthanc(join(work.dir, 'research'), 'RESEARCH', {});
    const folderIn = join(work.dir, 'folder-in');
    mkdirSync(folderIn);
    for (const file of FILES) {
      const { status, json } = await source.post<{ ID: string }>('/instances', readFileSync(join(sharedDicom, file)));
      expect(status).toBe(200);
      const bytes = await source.get<Buffer>(`/instances/${json.ID}/file`);
      writeFileSync(join(folderIn, `${json.ID}.dcm`), bytes);
      const dataset = readDicom(bytes).dataset;
      studies.push(getText(dataset, 0x0020000d) ?? '');
      patientIds.push(getText(dataset, 0x00100020) ?? '');
    }
    const policy = unwrap(parsePolicy(POLICY, { file: 'policy.yaml', baseDir: work.dir }));
    const folderOut = join(work.dir, 'folder-out');
    const folder = await deidentifyDicomDirectory({ policy, input: folderIn, output: folderOut, secret, jobs: 1 });
    for (const record of folder.files.filter((f) => f.status === 'ok')) folderHashes.add(sha(readFileSync(join(folderOut, record.output ?? ''))));

    const down = await freePort();
    t = await startTestApi({
      dicomWeb: dicomWebEndpoints([`PACS=${source.url}/dicom-web`, `DOWN=http://127.0.0.1:${down}/dicom-web`], [`Research=${research.url}/dicom-web`]),
    });
    const put = await request(t.api.app).put('/v1/policies/ct').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(POLICY);
    expect(put.status).toBe(201);
    expect((await request(t.api.app).post('/v1/policies/ct/approve').set(bearer(t.keys.committee))).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    source?.stop();
    research?.stop();
    await new Promise((r) => setTimeout(r, 200));
    work?.cleanup();
  });

  const submit = (body: unknown) => request(t.api.app).post('/v1/dicom/jobs').set(bearer(t.keys.researcher)).send(body as object);

  /** The result zip's files, by sha256. */
  async function resultHashes(id: string): Promise<string[]> {
    const res = await request(t.api.app).get(`/v1/jobs/${id}/result`).set(bearer(t.keys.researcher)).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).toBe(200);
    const dir = join(work.dir, `result-${id}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'result.zip'), res.body as Buffer);
    try {
      const files = await extractZipSafely(join(dir, 'result.zip'), join(dir, 'files'), { maxEntries: 1000, maxTotalBytes: 1e9, maxRatio: 1100 });
      return files.map((f) => sha(readFileSync(f)));
    } catch (error) {
      // a valid archive without entries
      if ((error as { code?: string }).code === 'ZIP_EMPTY') return [];
      throw error;
    }
  }

  it('studies by UID: the job pulls them, de-identifies them as the folder path does, and keeps the source by name and count', async () => {
    const submitted = await submit({ policy: 'ct', policyVersion: 1, source: { dicomweb: { name: 'pacs', studies } } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, submitted.body.id);
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const view = (await request(t.api.app).get(`/v1/jobs/${job.id}`).set(bearer(t.keys.researcher))).body;
    expect(view.source).toEqual({ dicomweb: 'PACS', studies: new Set(studies).size });
    expect(view.inputFiles).toBe(FILES.length);
    // byte for byte what the folder path writes for the files the PACS holds
    expect(new Set(await resultHashes(job.id))).toEqual(folderHashes);
    const report = (await request(t.api.app).get(`/v1/jobs/${job.id}/report`).set(bearer(t.keys.researcher))).body;
    expect(report.source.dicomweb).toBe('PACS');
    expect(report.source.totals).toMatchObject({ studies: new Set(studies).size, retrieved: FILES.length, deidentified: FILES.length, rejected: 0 });
    expect(JSON.stringify(report.source)).not.toContain(studies[0]);
  }, 120_000);

  it('a query, stored at the configured destination: the research PACS holds the studies with keyed new UIDs; the audit log names source and destination, never the query', async () => {
    const patient = patientIds[0];
    const expectedStudies = new Set(studies.filter((_, i) => patientIds[i] === patient));
    const submitted = await submit({ policy: 'ct', source: { dicomweb: { name: 'PACS', query: `PatientID=${patient}` } }, destination: { dicomweb: { name: 'research' } } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, submitted.body.id);
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const view = (await request(t.api.app).get(`/v1/jobs/${job.id}`).set(bearer(t.keys.researcher))).body;
    expect(view.source).toEqual({ dicomweb: 'PACS', studies: expectedStudies.size, destination: 'RESEARCH' });
    const stored = await research.get<string[]>('/studies');
    const storedUids = new Set<string>();
    for (const id of stored) storedUids.add((await research.get<{ MainDicomTags: { StudyInstanceUID: string } }>(`/studies/${id}`)).MainDicomTags.StudyInstanceUID);
    expect(storedUids).toEqual(new Set([...expectedStudies].map((uid) => remapUid(secret, uid))));
    // the instances are at the destination: the result archive holds none
    expect(await resultHashes(job.id)).toEqual([]);
    const report = (await request(t.api.app).get(`/v1/jobs/${job.id}/report`).set(bearer(t.keys.researcher))).body;
    expect(report.source.studies.every((s: { status: string }) => s.status === 'stored')).toBe(true);

    const audit = (await request(t.api.app).get('/v1/audit').set(bearer(t.keys.auditor))).body;
    const entries = JSON.stringify(audit);
    expect(entries).toContain(`job:${job.id} ← dicomweb:PACS (a query) → dicomweb:RESEARCH`);
    expect(entries).not.toContain(patient);
    for (const uid of studies) expect(entries).not.toContain(uid);
  }, 120_000);

  it('a source or destination the operator did not configure, or a URL, is refused with 400 naming the field', async () => {
    const unknown = await submit({ policy: 'ct', source: { dicomweb: { name: 'ELSEWHERE', studies } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'SOURCE_UNKNOWN', field: 'source.dicomweb.name' });
    expect(unknown.body.error.message).toContain('PACS');
    const url = await submit({ policy: 'ct', source: { dicomweb: { name: 'PACS', url: 'http://169.254.169.254/', studies } } });
    expect(url.status).toBe(400);
    expect(url.body.error).toMatchObject({ code: 'BAD_FIELD', field: 'source.dicomweb.url' });
    const destination = await submit({ policy: 'ct', source: { dicomweb: { name: 'PACS', studies } }, destination: { dicomweb: { name: 'PACS' } } });
    expect(destination.status).toBe(400);
    expect(destination.body.error).toMatchObject({ code: 'DESTINATION_UNKNOWN', field: 'destination.dicomweb.name' });
    const both = await submit({ policy: 'ct', source: { dicomweb: { name: 'PACS', studies, query: 'PatientID=x' } } });
    expect(both.body.error).toMatchObject({ code: 'BAD_FIELD', field: 'source.dicomweb.studies' });
    const badUid = await submit({ policy: 'ct', source: { dicomweb: { name: 'PACS', studies: ['1.2', '../../etc'] } } });
    expect(badUid.body.error).toMatchObject({ code: 'BAD_FIELD', field: 'source.dicomweb.studies[1]' });
    // nothing was queued by a refused request
    const jobs = (await request(t.api.app).get('/v1/jobs').set(bearer(t.keys.researcher))).body.jobs as { source?: unknown }[];
    expect(jobs.every((j) => j.source !== undefined)).toBe(true);
    expect(jobs.length).toBe(2);
  });

  it('an unreachable source fails the job with SOURCE_UNREACHABLE (502 on its result); a query that matches nothing with NO_USABLE_INPUT', async () => {
    const down = await submit({ policy: 'ct', source: { dicomweb: { name: 'DOWN', studies: [studies[0]] } } });
    expect(down.status).toBe(202);
    const failed = await waitForJob(t.api.app, t.keys.researcher, down.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'SOURCE_UNREACHABLE', field: 'source.dicomweb.name' });
    expect(failed.error?.message).toContain('DOWN');
    expect(failed.error?.message).not.toContain(studies[0]);
    const result = await request(t.api.app).get(`/v1/jobs/${down.body.id}/result`).set(bearer(t.keys.researcher));
    expect(result.status).toBe(502);

    const none = await submit({ policy: 'ct', source: { dicomweb: { name: 'PACS', query: 'PatientID=NOBODY-AT-ALL' } } });
    const empty = await waitForJob(t.api.app, t.keys.researcher, none.body.id);
    expect(empty.status).toBe('failed');
    expect(empty.error).toMatchObject({ code: 'NO_USABLE_INPUT', field: 'source.dicomweb.query' });
    expect(empty.error?.message).not.toContain('NOBODY');
  }, 120_000);
});
