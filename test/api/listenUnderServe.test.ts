import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepAsJob } from '../../src/api/dicomListener.js';
import { createApiKey } from '../../src/api/keys.js';
import { listPolicyVersions } from '../../src/api/policyStore.js';
import { createApi, type Api } from '../../src/api/server.js';
import { readDicom } from '../../src/dicom/codec/read.js';
import { encodeText } from '../../src/dicom/codec/values.js';
import { writeDicom } from '../../src/dicom/codec/write.js';
import { getText, setElement } from '../../src/dicom/marking.js';
import { echo } from '../../src/dicom/net/index.js';
import { freePort, hasOrthanc, startOrthanc, type Orthanc } from '../dicom/net/orthanc.js';
import { sharedDicom } from '../dicom/helpers.js';
import { LogCapture, tempDir } from './helpers.js';

/**
 * `veil serve --dicom-port`: the DICOM listener inside the API server, on the latest approved
 * version of a stored policy. A real Orthanc (the hospital PACS) pushes studies by C-STORE; a
 * second one (the research archive) receives them; the audit log counts each released study
 * and each quarantined instance, with no UID or data value.
 */
const SECRET = Buffer.from('listen-under-serve-secret-0123456789');
const POLICY = 'name: ct\nversion: 1\ndicom:\n  profile: basic\n  network: { allowCallingAeTitles: [SOURCE] }\n';
const FILES = ['CT_small.dcm', 'MR_small.dcm', 'liver.dcm'];
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

interface AuditEntry {
  action: string;
  target: string;
  policy: { name: string; version: number } | null;
}

const suite = hasOrthanc ? describe : describe.skip;
if (!hasOrthanc) console.warn('test/api/listenUnderServe: Orthanc is not installed (apt-get install -y orthanc orthanc-dicomweb): skipped');

suite('the DICOM listener under veil serve', () => {
  const work = tempDir('veil-serve-listen-');
  const dataDir = join(work.dir, 'data');
  let api: Api;
  let source: Orthanc;
  let research: Orthanc;
  let dicomPort: number;
  let auditor: string;
  let researcher: string;
  /** Orthanc ids of the pushed instances (three studies and one the pipeline rejects). */
  const ids: string[] = [];
  const identifying: string[] = [];
  const uids: string[] = [];

  const options = () => ({
    dataDir,
    logLevel: 'info',
    logDestination: new LogCapture(),
    auditKey: Buffer.from('listen-under-serve-audit-key-0123456789'),
    runner: { concurrency: 1 },
  });
  const listenerOptions = (policyName: string) => ({
    policyName,
    port: dicomPort,
    host: '127.0.0.1',
    aeTitle: 'VEIL',
    forward: { aeTitle: 'RESEARCH', host: '127.0.0.1', port: research.dicomPort, callingAeTitle: 'VEIL' },
    studyIdleSeconds: 0.5,
    jobs: 1,
    secret: SECRET,
  });

  beforeAll(async () => {
    dicomPort = await freePort();
    [research, source] = await Promise.all([startOrthanc(join(work.dir, 'research'), 'RESEARCH', {}), startOrthanc(join(work.dir, 'source'), 'SOURCE', { veil: ['VEIL', '127.0.0.1', dicomPort] })]);
    // the committee stores and approves the policy; the operator then starts the server with the listener
    const setup = await createApi(options());
    const committee = createApiKey(setup.ctx.db, 'committee', 'committee-1').key;
    auditor = createApiKey(setup.ctx.db, 'auditor', 'auditor-1').key;
    researcher = createApiKey(setup.ctx.db, 'researcher', 'imaging-team').key;
    expect((await request(setup.app).put('/v1/policies/ct').set(bearer(committee)).set('Content-Type', 'application/yaml').send(POLICY)).status).toBe(201);
    expect((await request(setup.app).post('/v1/policies/ct/approve').set(bearer(committee))).status).toBe(200);
    expect((await request(setup.app).put('/v1/policies/draft').set(bearer(committee)).set('Content-Type', 'application/yaml').send(POLICY.replace('name: ct', 'name: draft'))).status).toBe(201);
    await setup.close();
    api = await createApi({ ...options(), dicomListener: listenerOptions('ct') });
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    source?.stop();
    research?.stop();
    await new Promise((r) => setTimeout(r, 200));
    work.cleanup();
  });

  it('runs the approved version; a policy with no approved version does not start', async () => {
    expect(api.dicomListener?.policy).toMatchObject({ name: 'ct', version: 1 });
    await expect(createApi({ ...options(), dataDir: join(work.dir, 'other'), dicomListener: listenerOptions('ct') })).rejects.toMatchObject({ code: 'USAGE', location: { field: '--dicom-policy' } });
  });

  it("Orthanc pushes studies: they reach the research archive de-identified; the audit log counts each study and each quarantined instance, with no value", async () => {
    for (const file of FILES) {
      const bytes = readFileSync(join(sharedDicom, file));
      const dataset = readDicom(bytes).dataset;
      for (const tag of [0x00100010, 0x00100020]) identifying.push(...(getText(dataset, tag) ?? '').split('^').filter((v) => v.length >= 4));
      uids.push(getText(dataset, 0x0020000d) ?? '', getText(dataset, 0x00080018) ?? '');
      const { status, json } = await source.post<{ ID: string }>('/instances', bytes);
      expect(status).toBe(200);
      ids.push(json.ID);
    }
    // an instance the pipeline must reject: the patient's name copied into a kept element
    const template = readDicom(readFileSync(join(sharedDicom, 'MR_small.dcm')));
    const dataset = [...template.dataset];
    setElement(dataset, { tag: 0x00080018, vr: 'UI', value: encodeText('1.2.826.0.1.3680043.8.498.77.2') });
    setElement(dataset, { tag: 0x00080060, vr: 'CS', value: encodeText('LEAKYNAME') });
    setElement(dataset, { tag: 0x00100010, vr: 'PN', value: encodeText('LEAKYNAME') });
    identifying.push('LEAKYNAME');
    const leaky = await source.post<{ ID: string }>('/instances', Buffer.concat(writeDicom({ ...template, dataset })));
    expect(leaky.status).toBe(200);
    ids.push(leaky.json.ID);

    const pushed = await source.post<unknown>('/modalities/veil/store', JSON.stringify(ids));
    expect(pushed.status, JSON.stringify(pushed.json)).toBe(200);
    // every study released and delivered (idle() releases what is still open)
    const listener = api.dicomListener?.listener;
    if (!listener) throw new Error('no listener');
    await listener.idle();
    const stats = await research.get<{ CountInstances: number }>('/statistics');
    expect(stats.CountInstances).toBe(FILES.length);
    expect(listener.report().totals).toMatchObject({ received: ids.length, forwarded: FILES.length, quarantined: 1 });

    // an AE title the policy does not allow is refused at association
    expect(await echo({ aeTitle: 'VEIL', host: '127.0.0.1', port: dicomPort, callingAeTitle: 'INTRUDER' })).toBe(false);

    const entries = (await request(api.app).get('/v1/audit?limit=5000').set(bearer(auditor))).body.entries as AuditEntry[];
    const start = entries.find((e) => e.action === 'dicom.listen.start');
    expect(start?.policy).toMatchObject({ name: 'ct', version: 1 });
    const released = entries.filter((e) => e.action === 'dicom.study.released');
    const sum = (what: string) => released.reduce((n, e) => n + Number(new RegExp(`(\\d+) ${what}`).exec(e.target)?.[1] ?? 0), 0);
    expect(released.length).toBeGreaterThanOrEqual(new Set(FILES).size);
    expect([sum('received'), sum('forwarded'), sum('quarantined')]).toEqual([ids.length, FILES.length, 1]);
    expect(released.every((e) => e.policy?.name === 'ct')).toBe(true);
    const quarantined = entries.filter((e) => e.action === 'dicom.quarantined');
    expect(quarantined.map((e) => e.target)).toEqual(['dicom-listener:VEIL instance: DEIDENTIFICATION_FAILED']);
    const text = JSON.stringify(entries);
    for (const value of [...identifying, ...uids]) expect(text).not.toContain(value);
  }, 120_000);

  it('stopping the server writes a closing entry with the totals', async () => {
    await api.close();
    api = await createApi(options());
    const entries = (await request(api.app).get('/v1/audit?limit=5000').set(bearer(auditor))).body.entries as AuditEntry[];
    const stop = entries.filter((e) => e.action === 'dicom.listen.stop');
    expect(stop.length).toBe(1);
    expect(stop[0].target).toMatch(new RegExp(`${FILES.length + 1} received, ${FILES.length} forwarded, 0 written, 1 quarantined`));
  }, 60_000);

  it('without a forward, each released study is kept as a done DICOM job of the named researcher: result zip, report, audit', async () => {
    await api.close();
    const keptOptions = { ...listenerOptions('ct'), forward: undefined, jobsFor: 'imaging-team' };
    await expect(createApi({ ...options(), dicomListener: { ...keptOptions, jobsFor: 'nobody' } })).rejects.toMatchObject({ code: 'USAGE', location: { field: '--dicom-jobs-for' } });
    api = await createApi({ ...options(), dicomListener: keptOptions });
    const pushed = await source.post<unknown>('/modalities/veil/store', JSON.stringify(ids));
    expect(pushed.status, JSON.stringify(pushed.json)).toBe(200);
    const listener = api.dicomListener?.listener;
    if (!listener) throw new Error('no listener');
    await listener.idle();
    expect(listener.report().totals).toMatchObject({ received: ids.length, forwarded: 0, kept: FILES.length, quarantined: 1 });

    interface JobView { id: string; kind: string; status: string; inputFiles: number; submittedBy: { name: string }; policy: { name: string; version: number } }
    const jobs = (await request(api.app).get('/v1/jobs').set(bearer(researcher))).body.jobs as JobView[];
    expect(jobs.length).toBeGreaterThanOrEqual(new Set(FILES).size);
    expect(jobs.every((j) => j.kind === 'dicom' && j.status === 'done' && j.submittedBy.name === 'imaging-team' && j.policy.version === 1)).toBe(true);
    expect(jobs.reduce((n, j) => n + j.inputFiles, 0)).toBe(ids.length);
    let files = 0;
    const leaked: string[] = [];
    for (const job of jobs) {
      const result = await request(api.app).get(`/v1/jobs/${job.id}/result`).set(bearer(researcher)).buffer(true).parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(result.status).toBe(200);
      for (const bytes of Object.values(unzipSync(new Uint8Array(result.body as Buffer)))) {
        files++;
        const text = Buffer.from(bytes).toString('latin1');
        leaked.push(...[...identifying, ...uids].filter((value) => text.includes(value)));
      }
      const report = await request(api.app).get(`/v1/jobs/${job.id}/report`).set(bearer(researcher));
      expect(report.status).toBe(200);
      expect(report.body.kind).toBe('veil-dicom');
      expect((await request(api.app).get(`/v1/jobs/${job.id}/report?format=html`).set(bearer(researcher))).status).toBe(200);
    }
    expect(files).toBe(FILES.length);
    expect(leaked).toEqual([]);

    const entries = (await request(api.app).get('/v1/audit?limit=5000').set(bearer(auditor))).body.entries as (AuditEntry & { actor: string })[];
    const submits = entries.filter((e) => e.action === 'job.submit');
    expect(submits.map((e) => e.actor).sort()).toEqual(jobs.map(() => 'dicom-listener:VEIL'));
    expect(submits.map((e) => e.target).sort()).toEqual(jobs.map((j) => `job:${j.id}`).sort());
    const kept = entries.filter((e) => e.action === 'dicom.study.released' && e.target.includes('kept as job:'));
    expect(kept.length).toBe(jobs.length);
    const text = JSON.stringify(entries);
    for (const value of [...identifying, ...uids]) expect(text).not.toContain(value);
  }, 120_000);

  it('a batch kept again after a crash finds its job: one job, one job.submit; a job folder without a record is re-made', async () => {
    const batch = join(work.dir, 'crashed-batch');
    mkdirSync(join(batch, 'out'), { recursive: true });
    writeFileSync(join(batch, 'out', 'a.dcm'), 'not read, only zipped');
    writeFileSync(join(batch, 'report.json'), JSON.stringify({ kind: 'veil-dicom', files: [] }));
    const kept = { id: '00001764720000000-0123456789abcdef0123456789abcdef', files: join(batch, 'out'), reportJson: join(batch, 'report.json'), reportHtml: join(batch, 'report.html'), received: 1, deidentified: 1, quarantined: 0 };
    const owner = { keyId: (await request(api.app).get('/v1/jobs').set(bearer(researcher))).body.jobs[0].submittedBy.keyId as string, actor: 'dicom-listener:VEIL', version: listPolicyVersions(api.ctx.db, 'ct')[0] };
    // a crash after the job's folder was made and before its record: the folder is re-made
    const jobId = await keepAsJob(api.ctx, kept, owner);
    writeFileSync(join(api.ctx.layout.jobOut(jobId), 'stray'), 'left by the crash');
    api.ctx.db.prepare('DELETE FROM reports WHERE job_id = ?').run(jobId);
    api.ctx.db.prepare('DELETE FROM jobs WHERE id = ?').run(jobId);
    expect(await keepAsJob(api.ctx, kept, owner)).toBe(jobId);
    expect(readFileSync(join(api.ctx.layout.jobOut(jobId), 'report.json'), 'utf8')).toContain('veil-dicom');
    expect(() => readFileSync(join(api.ctx.layout.jobOut(jobId), 'stray'))).toThrow();
    // a crash after the record and before the batch was removed: the same job, nothing new
    expect(await keepAsJob(api.ctx, kept, owner)).toBe(jobId);
    const entries = (await request(api.app).get('/v1/audit?limit=5000').set(bearer(auditor))).body.entries as AuditEntry[];
    expect(entries.filter((e) => e.action === 'job.submit' && e.target === `job:${jobId}`).length).toBe(2); // one per record written, none for the repeat
    const jobs = (await request(api.app).get('/v1/jobs').set(bearer(researcher))).body.jobs as { id: string }[];
    expect(jobs.filter((j) => j.id === jobId).length).toBe(1);
  });
});

