import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicom } from '../../../src/dicom/codec/read.js';
import type { DicomDataset } from '../../../src/dicom/codec/types.js';
import { encodeText, textValues } from '../../../src/dicom/codec/values.js';
import { writeDicom } from '../../../src/dicom/codec/write.js';
import { deidentifyDicomDirectory, remapUid } from '../../../src/dicom/index.js';
import { getText, setElement } from '../../../src/dicom/marking.js';
import type { PullReport } from '../../../src/dicom/net/index.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { runCli, veilArgs } from '../../helpers.js';
import { repoRoot, sharedDicom } from '../helpers.js';
import { checkArchiveAgainstFolder } from './archiveCheck.js';
import { freePort, hasOrthanc, startOrthanc, type Orthanc } from './orthanc.js';

/**
 * `veil dicom pull` between real Orthanc servers on loopback: QIDO-RS and WADO-RS from a source
 * PACS, STOW-RS into research PACSs, each checked through its REST API against the folder
 * path's output of the very files the source holds, with the same key.
 */
const SECRET = 'pull-test-secret-0123456789';
const POLICY = 'name: pull-test\nversion: 1\ndicom: { profile: basic }\n';
const FILES = ['CT_small.dcm', 'MR_small.dcm', 'emri_small.dcm', '693_UNCR.dcm', 'JPEG-lossy.dcm', 'SC_rgb_rle_2frame.dcm', 'deid-data_ctbrain1.dcm', 'liver.dcm', 'rtstruct.dcm', 'rtplan.dcm'];
const IDENTIFYING_TAGS = new Set([0x00100010, 0x00100020, 0x00100030, 0x00101000, 0x00101001, 0x00101040, 0x00080050, 0x00080080, 0x00080081, 0x00080090, 0x00081010, 0x00081048, 0x00081050, 0x00081060, 0x00081070, 0x00200010, 0x00080020, 0x00080021, 0x00080022, 0x00080023, 0x00181000]);

/** Identifying values of an input (listed tags, every PN and DA, name components), at any depth. */
function identifyingValues(dataset: DicomDataset, into: Set<string>): void {
  for (const e of dataset) {
    if (e.items) for (const item of e.items) identifyingValues(item, into);
    if (!e.value || !(IDENTIFYING_TAGS.has(e.tag) || e.vr === 'PN' || e.vr === 'DA')) continue;
    for (const v of textValues(e.value)) for (const p of e.vr === 'PN' ? [v, ...v.split(/[\^=]/)] : [v]) if (p.trim().length >= 4) into.add(p.trim());
  }
}

/** Tag, VR and value of every element, items included (a PACS may re-encode sequence lengths). */

interface Stats {
  CountInstances: number;
  CountSeries: number;
  CountStudies: number;
}

const env = { VEIL_SECRET: SECRET };

/** A stand-in DICOMweb server in this process (for answers a real PACS does not give). */
async function fakeServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** The CLI as a child process without blocking this one (runCli would block a fakeServer). */
async function runCliAsync(args: string[], childEnv: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, veilArgs(args), { cwd: repoRoot, env: { ...process.env, CI: '1', ...childEnv } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((r) => child.once('exit', r));
  return { status, stdout, stderr };
}
const suite = hasOrthanc ? describe : describe.skip;
if (!hasOrthanc) console.warn('test/dicom/net: Orthanc is not installed (apt-get install -y orthanc orthanc-dicomweb): the pull suite is skipped');

suite('veil dicom pull from one Orthanc into another over DICOMweb', () => {
  let work: string;
  let source: Orthanc;
  const research: Orthanc[] = [];
  const inputs = new Map<string, DicomDataset>();
  /** The folder path's output of the source's files, by de-identified SOPInstanceUID. */
  const folderBySop = new Map<string, Buffer>();
  const identifying = new Set<string>();
  const secret = Buffer.from(SECRET);
  const web = (o: Orthanc) => `${o.url}/dicom-web`;
  const policyFile = () => join(work, 'policy.yaml');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'veil-pull-'));
    writeFileSync(policyFile(), POLICY);
    // the three servers start side by side (each waits for its HTTP port)
    const started = await Promise.all(['SOURCE', 'RESEARCH1', 'RESEARCH2'].map((name) => startOrthanc(join(work, name === 'SOURCE' ? 'source' : name), name, {})));
    source = started[0];
    research.push(...started.slice(1));
    const ids = new Set<string>();
    for (const file of FILES) {
      const { status, json } = await source.post<{ ID: string }>('/instances', readFileSync(join(sharedDicom, file)));
      if (status === 200) ids.add(json.ID);
    }
    // the folder path on the very files the source holds, with the same key
    const folderIn = join(work, 'folder-in');
    mkdirSync(folderIn);
    for (const id of ids) {
      const bytes = await source.get<Buffer>(`/instances/${id}/file`);
      writeFileSync(join(folderIn, `${id}.dcm`), bytes);
      inputs.set(id, readDicom(bytes).dataset);
    }
    const policy = unwrap(parsePolicy(POLICY, { file: 'policy.yaml', baseDir: work }));
    const folderOut = join(work, 'folder-out');
    const folder = await deidentifyDicomDirectory({ policy, input: folderIn, output: folderOut, secret, jobs: 1 });
    for (const record of folder.files.filter((f) => f.status === 'ok')) {
      const bytes = readFileSync(join(folderOut, record.output ?? ''));
      folderBySop.set(getText(readDicom(bytes).dataset, 0x00080018) ?? '', bytes);
    }
    for (const dataset of inputs.values()) identifyingValues(dataset, identifying);
  }, 60_000);

  afterAll(async () => {
    source?.stop();
    for (const o of research) o.stop();
    await new Promise((r) => setTimeout(r, 200));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Checks every instance the research PACS holds against the folder path; returns its study UIDs. */
  async function checkResearch(target: Orthanc): Promise<Set<string>> {
    return (await checkArchiveAgainstFolder(target, { inputs, identifying, folderBySop })).studies;
  }

  it('--study: every selected study reaches the research PACS de-identified as the folder path does, and --out holds the same files', async () => {
    const studyUids = [...new Set([...inputs.values()].map((d) => getText(d, 0x0020000d) ?? ''))];
    const out = join(work, 'out');
    const reportFile = join(work, 'pull-study.json');
    const run = runCli(['dicom', 'pull', '--policy', policyFile(), '--from', web(source), '--study', ...studyUids, '--to', web(research[0]), '--out', out, '--report', reportFile, '--jobs', '1'], env);
    expect(run.status, run.stderr).toBe(0);
    const sourceStats = await source.get<Stats>('/statistics');
    const researchStats = await research[0].get<Stats>('/statistics');
    expect([researchStats.CountInstances, researchStats.CountStudies, researchStats.CountSeries]).toEqual([sourceStats.CountInstances, sourceStats.CountStudies, sourceStats.CountSeries]);
    // same study → same new StudyInstanceUID, the keyed remap of the original
    expect(await checkResearch(research[0])).toEqual(new Set(studyUids.map((uid) => remapUid(secret, uid))));

    const copies = readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(copies.length).toBe(sourceStats.CountInstances);
    for (const copy of copies) {
      const bytes = readFileSync(join(copy.parentPath, copy.name));
      const expected = folderBySop.get(getText(readDicom(bytes).dataset, 0x00080018) ?? '');
      expect(expected && bytes.equals(expected), "the written file is the folder path's file, byte for byte").toBe(true);
    }
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as PullReport;
    expect(report.studies.map((s) => s.status)).toEqual(studyUids.map(() => 'stored'));
    expect(report.totals.stored).toBe(sourceStats.CountInstances);
    // the report names studies by position and new UID only
    for (const uid of studyUids) expect(JSON.stringify(report)).not.toContain(uid);
  }, 120_000);

  it('--query: QIDO-RS selects one patient, and only that patient\'s studies, series and instances arrive', async () => {
    const patientId = getText(inputs.values().next().value as DicomDataset, 0x00100020) ?? '';
    const selected = [...inputs.values()].filter((d) => getText(d, 0x00100020) === patientId);
    const others = [...inputs.values()].filter((d) => getText(d, 0x00100020) !== patientId);
    expect(selected.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    const run = runCli(['dicom', 'pull', '--policy', policyFile(), '--from', web(source), '--query', `PatientID=${patientId}`, '--to', web(research[1]), '--jobs', '1'], env);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(patientId);
    const stats = await research[1].get<Stats>('/statistics');
    const distinct = (tag: number) => new Set(selected.map((d) => getText(d, tag))).size;
    expect([stats.CountInstances, stats.CountStudies, stats.CountSeries]).toEqual([selected.length, distinct(0x0020000d), distinct(0x0020000e)]);
    expect(await checkResearch(research[1])).toEqual(new Set(selected.map((d) => remapUid(secret, getText(d, 0x0020000d) ?? ''))));
  }, 120_000);

  it('an unreachable server and a study the source does not have: exit 2, one line, no credentials, no UID', async () => {
    const closed = await freePort();
    const unreachable = runCli(['dicom', 'pull', '--policy', policyFile(), '--from', `http://alice:s3cretpw@127.0.0.1:${closed}/dicom-web`, '--study', '1.2.3', '--out', join(work, 'never')], env);
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toMatch(new RegExp(`--from: WADO-RS http://127\\.0\\.0\\.1:${closed}/dicom-web/studies/\\(study 1 of 1\\): the server cannot be reached`));
    expect(unreachable.stderr).not.toMatch(/alice|s3cretpw/);

    const before = await research[0].get<Stats>('/statistics');
    const known = getText(inputs.values().next().value as DicomDataset, 0x0020000d) ?? '';
    const missing = runCli(['dicom', 'pull', '--policy', policyFile(), '--from', web(source), '--study', known, '1.2.826.0.1.3680043.2.1125.999', '--to', web(research[0])], env);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/--from: WADO-RS http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies\/\(study 2 of 2\): the server answered HTTP 404/);
    expect(missing.stderr).not.toContain('1.2.826.0.1.3680043.2.1125.999');
    // nothing was stored: the known study was retrieved, but no study is sent before all are de-identified
    expect(await research[0].get<Stats>('/statistics')).toMatchObject({ CountInstances: before.CountInstances });
    expect(readdirSync(work).filter((f) => f === 'never')).toEqual([]);
  }, 60_000);

  it('a study with an instance the pipeline rejects is not stored at all; the other study is, and the report says which', async () => {
    const [leaky, target] = await Promise.all([startOrthanc(join(work, 'leaky-source'), 'LEAKY', {}), startOrthanc(join(work, 'leaky-research'), 'LEAKYR', {})]);
    try {
      const ct = readFileSync(join(sharedDicom, 'CT_small.dcm'));
      const mr = readFileSync(join(sharedDicom, 'MR_small.dcm'));
      // a second instance of MR_small's study with the patient's name copied into a kept element (Modality): residual PHI
      const template = readDicom(mr);
      const dataset = [...template.dataset];
      setElement(dataset, { tag: 0x00080018, vr: 'UI', value: encodeText('1.2.826.0.1.3680043.8.498.77.2') });
      setElement(dataset, { tag: 0x00080060, vr: 'CS', value: encodeText('LEAKYNAME') });
      setElement(dataset, { tag: 0x00100010, vr: 'PN', value: encodeText('LEAKYNAME') });
      const meta = template.meta.map((e) => (e.tag === 0x00020003 ? { ...e, value: encodeText('1.2.826.0.1.3680043.8.498.77.2') } : e));
      for (const bytes of [ct, mr, Buffer.concat(writeDicom({ ...template, meta, dataset }))]) expect((await leaky.post('/instances', bytes)).status).toBe(200);
      const studies = [ct, mr].map((b) => getText(readDicom(b).dataset, 0x0020000d) ?? '');
      const reportFile = join(work, 'pull-leaky.json');
      const run = await runCliAsync(['dicom', 'pull', '--policy', policyFile(), '--from', web(leaky), '--study', ...studies, '--to', web(target), '--report', reportFile, '--jobs', '1'], env);
      expect(run.status).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/1 of 2 studies not stored; study 2 of 2: 1 of 2 instances could not be de-identified \(the report lists each\)/);
      expect(run.stderr).not.toContain('LEAKYNAME');
      const stats = await target.get<Stats>('/statistics');
      expect([stats.CountStudies, stats.CountInstances]).toEqual([1, 1]);
      const stored = await target.get<string[]>('/instances');
      expect(getText(readDicom(await target.get<Buffer>(`/instances/${stored[0]}/file`)).dataset, 0x0020000d)).toBe(remapUid(secret, studies[0]));
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as PullReport;
      expect(report.studies.map((s) => s.status)).toEqual(['stored', 'not-stored']);
      expect(report.studies.map((s) => s.studyUid)).toEqual(studies.map((uid) => remapUid(secret, uid)));
      expect(report.studies[1].rejected.map((r) => r.reason)).toEqual([expect.stringMatching(/residual PHI/)]);
      expect(report.totals).toMatchObject({ studies: 2, retrieved: 3, deidentified: 2, rejected: 1, stored: 1, studiesStored: 1 });
    } finally {
      leaky.stop();
      target.stop();
    }
  }, 90_000);

  it('a source that answers with something other than DICOM: exit 2, one line naming the part', async () => {
    const server = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=zz' });
      res.end('--zz\r\nContent-Type: application/dicom\r\n\r\nnot a dicom file\r\n--zz--\r\n');
    });
    const run = await runCliAsync(['dicom', 'pull', '--policy', policyFile(), '--from', `${server.url}/dicom-web`, '--study', '1.2.3', '--out', join(work, 'never2')], env);
    await server.close();
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/\(study 1 of 1\): part 1 is not a DICOM instance/);
  }, 60_000);

  it('sends basic auth from VEIL_DICOMWEB_FROM_USER/PASSWORD and a bearer token from VEIL_DICOMWEB_TOKEN; a 401 is exit 2 without the secret', async () => {
    const seen: (string | undefined)[] = [];
    const server = await fakeServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== `Basic ${Buffer.from('alice:pa55word').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
    });
    const args = ['dicom', 'pull', '--policy', policyFile(), '--from', `${server.url}/dicom-web`, '--query', 'StudyDate=20200101', '--to', web(research[1])];
    const ok = await runCliAsync(args, { ...env, VEIL_DICOMWEB_FROM_USER: 'alice', VEIL_DICOMWEB_FROM_PASSWORD: 'pa55word' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/pulled 0 studies/);
    const refused = await runCliAsync(args, { ...env, VEIL_DICOMWEB_TOKEN: 'tok-987654321' });
    await server.close();
    expect(seen).toEqual([`Basic ${Buffer.from('alice:pa55word').toString('base64')}`, 'Bearer tok-987654321']);
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/--from: QIDO-RS http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies: the server answered HTTP 401 \(check VEIL_DICOMWEB_\* credentials\)/);
    expect(refused.stderr).not.toMatch(/tok-987654321|StudyDate|20200101/);
  }, 60_000);
});
