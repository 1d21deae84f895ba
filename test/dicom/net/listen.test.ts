import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicom } from '../../../src/dicom/codec/read.js';
import type { DicomDataset } from '../../../src/dicom/codec/types.js';
import { encodeText, textValues } from '../../../src/dicom/codec/values.js';
import { writeDicom } from '../../../src/dicom/codec/write.js';
import { deidentifyDicomDirectory, remapUid } from '../../../src/dicom/index.js';
import { getText, setElement } from '../../../src/dicom/marking.js';
import { echo, sendInstances, type Destination, type ListenReport } from '../../../src/dicom/net/index.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { sharedDicom } from '../helpers.js';
import { checkArchiveAgainstFolder } from './archiveCheck.js';
import { countingArchive, datasetBytes, outgoing, SECRET, startListen, waitFor, type Running } from './listenProcess.js';
import { freePort, hasOrthanc, startOrthanc, type Orthanc } from './orthanc.js';

/**
 * `veil dicom listen` between two real Orthanc servers on loopback: a source PACS pushes by
 * C-STORE (its REST /modalities/veil/store), Veil de-identifies and forwards to a research PACS,
 * and the research PACS's REST API is asked what arrived.
 */
const POLICY = 'name: listen-test\nversion: 1\ndicom: { profile: basic }\n';
/** Image and non-image objects, native and encapsulated, explicit and implicit VR, several studies. */
const FILES = ['CT_small.dcm', 'MR_small.dcm', 'emri_small.dcm', '693_UNCR.dcm', 'JPEG-lossy.dcm', 'SC_rgb_rle_2frame.dcm', 'deid-data_ctbrain1.dcm', 'liver.dcm', 'rtstruct.dcm', 'rtplan.dcm'];

const IDENTIFYING_TAGS = new Set([0x00100010, 0x00100020, 0x00100030, 0x00101000, 0x00101001, 0x00101040, 0x00080050, 0x00080080, 0x00080081, 0x00080090, 0x00081010, 0x00081048, 0x00081050, 0x00081060, 0x00081070, 0x00200010, 0x00080020, 0x00080021, 0x00080022, 0x00080023, 0x00181000]);

/** Identifying values of an input (listed tags, every PN and DA, name components), at any depth. */
function identifyingValues(dataset: DicomDataset, into = new Set<string>()): Set<string> {
  for (const e of dataset) {
    if (e.items) for (const item of e.items) identifyingValues(item, into);
    if (!e.value || !(IDENTIFYING_TAGS.has(e.tag) || e.vr === 'PN' || e.vr === 'DA')) continue;
    for (const v of textValues(e.value)) {
      for (const p of e.vr === 'PN' ? [v, ...v.split(/[\^=]/)] : [v]) if (p.trim().length >= 4) into.add(p.trim());
    }
  }
  return into;
}

/** Tag, VR and value (or whole encoded element for pixel data) of every element, items included. */

/** Reason files of a quarantine folder (not the temp files of a write under way). */
function reasonFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.reason.txt') && !f.startsWith('.veil-tmp-'));
}

interface Stats {
  CountInstances: number;
  CountSeries: number;
  CountStudies: number;
}

const suite = hasOrthanc ? describe : describe.skip;
if (!hasOrthanc) console.warn('test/dicom/net: Orthanc is not installed (apt-get install -y orthanc orthanc-dicomweb): the listener suite is skipped');

suite('veil dicom listen between two Orthanc servers', () => {
  let work: string;
  let source: Orthanc;
  let research: Orthanc;
  let listener: Running;
  let sourceIds: string[] = [];
  /** The --out copy of the good instance sent again after the broken ones, and its mtime before: rewritten once it is forwarded. */
  let goodCopy = { path: '', before: 0n };
  const spool = () => join(work, 'spool');
  const quarantine = () => join(work, 'quarantine');
  const veil = (): Destination => ({ aeTitle: 'VEIL', host: '127.0.0.1', port: listener.port, callingAeTitle: 'TESTSCU' });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'veil-listen-'));
    writeFileSync(join(work, 'policy.yaml'), POLICY);
    const listenPort = await freePort();
    [research, source] = await Promise.all([startOrthanc(join(work, 'research'), 'RESEARCH', {}), startOrthanc(join(work, 'source'), 'SOURCE', { veil: ['VEIL', '127.0.0.1', listenPort] })]);
    for (const file of FILES) {
      const { status, json } = await source.post<{ ID: string }>('/instances', readFileSync(join(sharedDicom, file)));
      if (status === 200) sourceIds.push(json.ID);
    }
    sourceIds = [...new Set(sourceIds)];
    listener = await startListen(
      ['--policy', join(work, 'policy.yaml'), '--forward', `RESEARCH@127.0.0.1:${research.dicomPort}`, '--out', join(work, 'copies'), '--spool', spool(), '--quarantine', quarantine(), '--study-idle', '0.5', '--allow-ae', 'SOURCE,TESTSCU', '--report', join(work, 'report.json')],
      listenPort,
    );
  }, 60_000);

  afterAll(async () => {
    listener?.child.kill('SIGKILL');
    source?.stop();
    research?.stop();
    await new Promise((r) => setTimeout(r, 200));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('receives what the source pushes, de-identifies it as the folder path does and forwards it to the research PACS', async () => {
    expect(sourceIds.length).toBeGreaterThanOrEqual(8);
    const pushed = await source.post<{ FailedInstancesCount?: number; InstancesCount?: number }>('/modalities/veil/store', JSON.stringify(sourceIds));
    expect(pushed.status, JSON.stringify(pushed.json)).toBe(200);
    const sourceStats = await source.get<Stats>('/statistics');
    await waitFor(async () => (await research.get<Stats>('/statistics')).CountInstances >= sourceStats.CountInstances, 'the research PACS to hold every instance');
    const researchStats = await research.get<Stats>('/statistics');
    expect(researchStats.CountInstances).toBe(sourceStats.CountInstances);
    expect(researchStats.CountStudies).toBe(sourceStats.CountStudies);
    expect(researchStats.CountSeries).toBe(sourceStats.CountSeries);

    // the folder path on the very files the source holds, with the same key
    const folderIn = join(work, 'folder-in');
    const folderOut = join(work, 'folder-out');
    mkdirSync(folderIn);
    const inputs = new Map<string, DicomDataset>();
    for (const id of sourceIds) {
      const bytes = await source.get<Buffer>(`/instances/${id}/file`);
      writeFileSync(join(folderIn, `${id}.dcm`), bytes);
      inputs.set(id, readDicom(bytes).dataset);
    }
    const policy = unwrap(parsePolicy(POLICY, { file: 'policy.yaml', baseDir: work }));
    const folder = await deidentifyDicomDirectory({ policy, input: folderIn, output: folderOut, secret: Buffer.from(SECRET), jobs: 1 });
    const folderBySop = new Map<string, Buffer>();
    for (const record of folder.files.filter((f) => f.status === 'ok')) {
      const bytes = readFileSync(join(folderOut, record.output ?? ''));
      folderBySop.set(getText(readDicom(bytes).dataset, 0x00080018) ?? '', bytes);
    }

    const secret = Buffer.from(SECRET);
    const expectedStudies = new Set([...inputs.values()].map((d) => remapUid(secret, getText(d, 0x0020000d) ?? '')));
    const identifying = new Set<string>();
    for (const dataset of inputs.values()) identifyingValues(dataset, identifying);
    const { ids: researchIds, studies: seenStudies } = await checkArchiveAgainstFolder(research, { inputs, identifying, folderBySop });
    // and byte for byte: --out keeps a copy of each instance as it was forwarded
    const copies = readdirSync(join(work, 'copies'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(copies.length).toBe(researchIds.length);
    for (const copy of copies) {
      const bytes = readFileSync(join(copy.parentPath, copy.name));
      const expected = folderBySop.get(getText(readDicom(bytes).dataset, 0x00080018) ?? '');
      expect(expected && bytes.equals(expected), "the forwarded file is the folder path's file").toBe(true);
    }
    // same study → same new StudyInstanceUID, the keyed remap of the original
    expect(seenStudies).toEqual(expectedStudies);
  }, 60_000);

  it('answers C-ECHO and refuses a calling AE title outside --allow-ae', async () => {
    expect(await echo(veil())).toBe(true);
    expect(await echo({ ...veil(), callingAeTitle: 'INTRUDER' })).toBe(false);
    await waitFor(() => Promise.resolve(/association from INTRUDER refused/.test(listener.stderr())), 'the refusal to be logged', 5000);
  });

  it('refuses an unknown SOP class and quarantines a truncated data set with a reason, and keeps serving', async () => {
    const mr = readFileSync(join(sharedDicom, 'MR_small.dcm'));
    const parsed = readDicom(mr);
    const sopClass = getText(parsed.meta, 0x00020002) ?? '';
    const sop = getText(parsed.meta, 0x00020003) ?? '';
    const ts = getText(parsed.meta, 0x00020010) ?? '';
    const body = datasetBytes(mr);

    const unknown = await sendInstances(veil(), [{ sopClassUid: '1.2.3.4.5.6.7', sopInstanceUid: sop, transferSyntaxUid: ts, dataset: body, onStored: () => undefined }]);
    expect(unknown.stored).toBe(0);

    const before = reasonFiles(quarantine()).length;
    const truncated = await sendInstances(veil(), [{ sopClassUid: sopClass, sopInstanceUid: sop, transferSyntaxUid: ts, dataset: body.subarray(0, Math.floor(body.length / 2)), onStored: () => undefined }]);
    expect(truncated.stored).toBe(0);
    const reasons = reasonFiles(quarantine());
    expect(reasons.length).toBe(before + 1);
    const reason = readFileSync(join(quarantine(), reasons[reasons.length - 1]), 'utf8');
    expect(reason).toMatch(/refused at receipt: damaged data set/);

    // a peer that drops its association half-way: a PDU header that promises more than it sends
    await new Promise<void>((resolve) => {
      const socket = connect(listener.port, '127.0.0.1', () => {
        socket.write(Buffer.from([0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x01, 0x00]));
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 100);
      });
      socket.on('error', () => resolve());
    });
    expect(await echo(veil())).toBe(true);
    // and a good instance after all of that is still taken
    const copyPath = join(work, 'copies', remapUid(Buffer.from(SECRET), getText(parsed.dataset, 0x0020000d) ?? ''), `${remapUid(Buffer.from(SECRET), sop)}.dcm`);
    goodCopy = { path: copyPath, before: statSync(copyPath, { bigint: true }).mtimeNs };
    const good = await sendInstances(veil(), [{ sopClassUid: sopClass, sopInstanceUid: sop, transferSyntaxUid: ts, dataset: body, onStored: () => undefined }]);
    expect(good.stored).toBe(1);
  }, 30_000);

  it("quarantines an instance the pipeline rejects (residual PHI), with the pipeline's reason", async () => {
    // the patient's name copied into an element the profile keeps (Modality): the residual-PHI check must stop it
    const template = readDicom(readFileSync(join(sharedDicom, 'MR_small.dcm')));
    const dataset = [...template.dataset];
    const sop = '1.2.826.0.1.3680043.8.498.77.1';
    setElement(dataset, { tag: 0x00080018, vr: 'UI', value: encodeText(sop) });
    setElement(dataset, { tag: 0x00080060, vr: 'CS', value: encodeText('LEAKYNAME') });
    setElement(dataset, { tag: 0x00100010, vr: 'PN', value: encodeText('LEAKYNAME') });
    const bytes = Buffer.concat(writeDicom({ ...template, dataset }));
    const before = reasonFiles(quarantine());
    const sent = await sendInstances(veil(), [{ sopClassUid: getText(template.meta, 0x00020002) ?? '', sopInstanceUid: sop, transferSyntaxUid: template.transferSyntax.uid, dataset: datasetBytes(bytes), onStored: () => undefined }]);
    // on disk, so acknowledged; rejected later by the pipeline and quarantined, never forwarded
    expect(sent.stored).toBe(1);
    await waitFor(() => Promise.resolve(reasonFiles(quarantine()).length > before.length), 'the instance to be quarantined', 20_000);
    const added = reasonFiles(quarantine()).filter((f) => !before.includes(f));
    expect(readFileSync(join(quarantine(), added[0]), 'utf8')).toMatch(/^de-identification: residual PHI: values of .*PatientName/);
    expect(existsSync(join(quarantine(), added[0].replace('.reason.txt', '.dcm')))).toBe(true);
  }, 30_000);

  it('writes a run report on SIGTERM with received, forwarded and quarantined counts', async () => {
    // the good instance of the test before is forwarded (its copy is written as the research PACS confirms it)
    await waitFor(() => Promise.resolve(statSync(goodCopy.path, { bigint: true }).mtimeNs !== goodCopy.before), 'the good instance to be forwarded');
    listener.child.kill('SIGTERM');
    expect(await listener.exited).toBe(0);
    const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as ListenReport;
    expect(report.running).toBe(false);
    expect(report.totals.received).toBe(sourceIds.length + 2);
    expect(report.totals.forwarded).toBe(sourceIds.length + 1);
    expect(report.totals.refused).toBe(1);
    expect(report.totals.quarantined).toBe(2);
    expect(report.quarantine.map((q) => q.reason)).toEqual([expect.stringMatching(/damaged/), expect.stringMatching(/residual PHI/)]);
    // no UID or identifying value in what the listener said
    for (const dataset of [readDicom(readFileSync(join(sharedDicom, 'MR_small.dcm'))).dataset]) {
      for (const value of identifyingValues(dataset)) expect(listener.stderr()).not.toContain(value);
    }
  }, 20_000);
});

describe('veil dicom listen after kill -9', () => {
  it('loses nothing it acknowledged and forwards nothing twice', async () => {
    const work = mkdtempSync(join(tmpdir(), 'veil-listen-crash-'));
    // the research side is a counting C-STORE SCP: every delivery of every instance is seen
    const research = await countingArchive();
    const { deliveries, port: researchPort } = research;
    try {
      writeFileSync(join(work, 'policy.yaml'), POLICY);
      const args = ['--policy', join(work, 'policy.yaml'), '--forward', `RESEARCH@127.0.0.1:${researchPort}`, '--spool', join(work, 'spool'), '--report', join(work, 'report.json')];
      // a long idle time: the study is still open (received, not forwarded) when the process dies
      const first = await startListen([...args, '--study-idle', '600', '--batch', '0']);
      const files = ['CT_small.dcm', 'MR_small.dcm', 'emri_small.dcm'];
      const destination: Destination = { aeTitle: 'VEIL', host: '127.0.0.1', port: first.port, callingAeTitle: 'TESTSCU' };
      const instances = files.map((file) => outgoing(readFileSync(join(sharedDicom, file))));
      expect((await sendInstances(destination, instances)).stored).toBe(files.length);
      first.child.kill('SIGKILL');
      await first.exited;
      expect(deliveries.size).toBe(0);

      const second = await startListen([...args, '--study-idle', '0.2']);
      await waitFor(() => Promise.resolve(deliveries.size >= files.length), 'the recovered instances to arrive');
      // a third start on the same spool finds nothing left to send
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as ListenReport;
      expect(report.totals.recovered).toBe(files.length);
      expect(report.totals.forwarded).toBe(files.length);
      // nothing is left in the spool, so nothing can be sent: the third run's report says it found and sent nothing
      expect(readdirSync(join(work, 'spool', 'batches'))).toEqual([]);
      expect(readdirSync(join(work, 'spool', 'incoming'))).toEqual([]);
      const third = await startListen([...args, '--study-idle', '0.2']);
      third.child.kill('SIGTERM');
      expect(await third.exited).toBe(0);
      const thirdReport = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as ListenReport;
      expect(thirdReport.running).toBe(false);
      expect(thirdReport.totals).toMatchObject({ recovered: 0, forwarded: 0, deliveryRetries: 0 });
      expect(deliveries.size).toBe(files.length);
      expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
      expect(readdirSync(join(work, 'spool', 'batches'))).toEqual([]);
      expect(readdirSync(join(work, 'spool', 'incoming'))).toEqual([]);
    } finally {
      research.close();
      rmSync(work, { recursive: true, force: true });
    }
    // three listener processes start in this test: a guard for a loaded machine, not a timing
  }, 240_000);
});

describe('veil dicom listen --out (no forwarding)', () => {
  it("writes each de-identified instance as <StudyInstanceUID>/<SOPInstanceUID>.dcm, the folder path's bytes", async () => {
    const work = mkdtempSync(join(tmpdir(), 'veil-listen-out-'));
    try {
      writeFileSync(join(work, 'policy.yaml'), POLICY);
      const listener = await startListen(['--policy', join(work, 'policy.yaml'), '--out', join(work, 'out'), '--spool', join(work, 'spool'), '--study-idle', '0.2']);
      const files = ['CT_small.dcm', 'MR_small_implicit.dcm', 'JPEG-lossy.dcm'];
      const destination: Destination = { aeTitle: 'VEIL', host: '127.0.0.1', port: listener.port, callingAeTitle: 'TESTSCU' };
      const instances = files.map((file) => outgoing(readFileSync(join(sharedDicom, file))));
      expect((await sendInstances(destination, instances)).stored).toBe(files.length);
      const written = () => readdirSync(join(work, 'out'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.'));
      await waitFor(() => Promise.resolve(existsSync(join(work, 'out')) && written().length >= files.length), 'the files to be written');
      listener.child.kill('SIGTERM');
      expect(await listener.exited).toBe(0);

      mkdirSync(join(work, 'folder-in'));
      for (const file of files) writeFileSync(join(work, 'folder-in', file), readFileSync(join(sharedDicom, file)));
      const policy = unwrap(parsePolicy(POLICY, { file: 'policy.yaml', baseDir: work }));
      await deidentifyDicomDirectory({ policy, input: join(work, 'folder-in'), output: join(work, 'folder-out'), secret: Buffer.from(SECRET), jobs: 1 });
      const secret = Buffer.from(SECRET);
      for (const file of files) {
        const original = readDicom(readFileSync(join(sharedDicom, file))).dataset;
        const study = remapUid(secret, getText(original, 0x0020000d) ?? '');
        const sop = remapUid(secret, getText(original, 0x00080018) ?? '');
        const out = readFileSync(join(work, 'out', study, `${sop}.dcm`));
        expect(out.equals(readFileSync(join(work, 'folder-out', file))), file).toBe(true);
      }
      const report = JSON.parse(readFileSync(join(work, 'spool', 'listen-report.json'), 'utf8')) as ListenReport;
      expect(report.totals).toMatchObject({ received: files.length, written: files.length, forwarded: 0, quarantined: 0 });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('veil dicom listen when the research archive is down', () => {
  it('keeps the study, retries, and delivers each instance once when the archive comes back', async () => {
    const work = mkdtempSync(join(tmpdir(), 'veil-listen-retry-'));
    const researchPort = await freePort();
    const deliveries = new Map<string, number>();
    let research: { close(): void } | undefined;
    try {
      writeFileSync(join(work, 'policy.yaml'), POLICY);
      // a short --retry-wait (default 5 s): the retry is what this test is about, not its delay
      const listener = await startListen(['--policy', join(work, 'policy.yaml'), '--forward', `RESEARCH@127.0.0.1:${researchPort}`, '--spool', join(work, 'spool'), '--study-idle', '0.2', '--retry-wait', '0.3']);
      const files = ['CT_small.dcm', 'MR_small.dcm'];
      const instances = files.map((file) => outgoing(readFileSync(join(sharedDicom, file))));
      expect((await sendInstances({ aeTitle: 'VEIL', host: '127.0.0.1', port: listener.port, callingAeTitle: 'TESTSCU' }, instances)).stored).toBe(files.length);
      await waitFor(() => Promise.resolve(/forwarding to RESEARCH: 0 stored, \d not; retried in 0.3 s/.test(listener.stderr())), 'a failed delivery');
      research = await countingArchive(researchPort, deliveries);
      await waitFor(() => Promise.resolve(deliveries.size >= files.length), 'the retried delivery');
      listener.child.kill('SIGTERM');
      expect(await listener.exited).toBe(0);
      expect([...deliveries.values()]).toEqual(files.map(() => 1));
      const report = JSON.parse(readFileSync(join(work, 'spool', 'listen-report.json'), 'utf8')) as ListenReport;
      expect(report.totals.forwarded).toBe(files.length);
      expect(report.totals.deliveryRetries).toBeGreaterThanOrEqual(1);
      expect(readdirSync(join(work, 'spool', 'batches'))).toEqual([]);
    } finally {
      research?.close();
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
