import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicom } from '../../../src/dicom/codec/read.js';
import { encodeText } from '../../../src/dicom/codec/values.js';
import { writeDicom } from '../../../src/dicom/codec/write.js';
import { deidentifyDicomDirectory } from '../../../src/dicom/index.js';
import { getText, setElement } from '../../../src/dicom/marking.js';
import { sendInstances, type Destination, type ListenReport } from '../../../src/dicom/net/index.js';
import { scanRecords, SegmentLog } from '../../../src/dicom/net/segmentLog.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { sharedDicom } from '../helpers.js';
import { countingArchive, outgoing, SECRET, startListen, waitFor, type CountingArchive, type Running } from './listenProcess.js';

/**
 * The receipt log across kill -9 (session F1): an acknowledged instance whose file never reached
 * the disk (files are written without fsync; the log is the durable copy) is made again from
 * the log and delivered once; a torn last record (never acknowledged) is dropped; a log whose
 * records are all delivered is removed.
 */
const POLICY = 'name: listen-log\nversion: 1\ndicom: { profile: basic }\n';
const template = readDicom(readFileSync(join(sharedDicom, 'CT_small.dcm')));

/** Instance i of one study: the CT slice with its own SOPInstanceUID, as a Part-10 file. */
function slice(i: number): Buffer {
  const sop = `1.2.826.0.1.3680043.8.498.78.${i + 1}`;
  const dataset = [...template.dataset];
  setElement(dataset, { tag: 0x00080018, vr: 'UI', value: encodeText(sop) });
  const meta = template.meta.map((e) => (e.tag === 0x00020003 ? { ...e, value: encodeText(sop) } : e));
  return Buffer.concat(writeDicom({ ...template, meta, dataset }));
}
const sopOf = (bytes: Buffer) => getText(readDicom(bytes).dataset, 0x00080018) ?? '';

/** A listener that releases nothing by itself (batches of 3 only), forwarding to a counting archive and keeping copies in out/. */
async function logRun(prefix: string): Promise<{ work: string; archive: CountingArchive; args: string[]; listener: Running; destination: Destination; close(): void }> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const archive = await countingArchive();
  const close = () => {
    archive.close();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(work, 'policy.yaml'), POLICY);
    const args = ['--policy', join(work, 'policy.yaml'), '--forward', `RESEARCH@127.0.0.1:${archive.port}`, '--out', join(work, 'out'), '--spool', join(work, 'spool'), '--report', join(work, 'report.json')];
    const listener = await startListen([...args, '--study-idle', '600', '--batch', '3', '--batch-wait', '600']);
    const destination: Destination = { aeTitle: 'VEIL', host: '127.0.0.1', port: listener.port, callingAeTitle: 'TESTSCU' };
    return { work, archive, args, listener, destination, close };
  } catch (error) {
    close();
    throw error;
  }
}

/** The `--out` copies are byte for byte what the folder path makes of `files`. */
async function expectFolderPathBytes(work: string, files: readonly Buffer[]): Promise<void> {
  mkdirSync(join(work, 'folder-in'));
  files.forEach((file, i) => writeFileSync(join(work, 'folder-in', `${i}.dcm`), file));
  const policy = unwrap(parsePolicy(POLICY, { file: 'policy.yaml', baseDir: work }));
  await deidentifyDicomDirectory({ policy, input: join(work, 'folder-in'), output: join(work, 'folder-out'), secret: Buffer.from(SECRET), jobs: 1 });
  const under = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name)));
  const folderBySop = new Map(under(join(work, 'folder-out')).map((bytes) => [sopOf(bytes), bytes]));
  const written = under(join(work, 'out'));
  expect(written).toHaveLength(files.length);
  for (const bytes of written) expect(folderBySop.get(sopOf(bytes))?.equals(bytes)).toBe(true);
}

const logDir = (work: string) => join(work, 'spool', 'log');

describe('veil dicom listen: the receipt log across kill -9', () => {
  it('acknowledged instances whose files were lost after the answer are made again from the log and delivered once; the log is gone after delivery', async () => {
    const { work, archive, args, listener, destination, close } = await logRun('veil-listen-log-lost-');
    try {
      const files = [slice(0), slice(1)];
      expect((await sendInstances(destination, files.map(outgoing))).stored).toBe(2);
      listener.child.kill('SIGKILL');
      await listener.exited;
      expect(archive.deliveries.size).toBe(0);
      // the log holds both; their files (never fsynced) are lost, folder and all, as in a power cut
      expect(readdirSync(logDir(work)).length).toBeGreaterThan(0);
      const [segment] = readdirSync(join(work, 'spool', 'incoming'));
      expect(readdirSync(join(work, 'spool', 'incoming', segment))).toHaveLength(2);
      rmSync(join(work, 'spool', 'incoming', segment), { recursive: true });

      const again = await startListen([...args, '--study-idle', '0.2', '--batch', '3']);
      await waitFor(() => Promise.resolve(archive.deliveries.size >= 2), 'both instances to be forwarded');
      // the log is removed once its records are delivered (a moment after the batch is done)
      await waitFor(() => Promise.resolve(readdirSync(logDir(work)).length === 0 && readdirSync(join(work, 'spool', 'batches')).length === 0), 'the log to be removed');
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
      const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as ListenReport;
      expect(report.totals).toMatchObject({ recovered: 2, forwarded: 2, quarantined: 0 });
      expect([...archive.deliveries.values()]).toEqual([1, 1]);
      await expectFolderPathBytes(work, files);
      expect(readdirSync(join(work, 'spool', 'incoming'))).toEqual([]);
      expect(readdirSync(logDir(work))).toEqual([]);
    } finally {
      close();
    }
  }, 120_000);

  it('a torn last record (the log cut in its middle) is dropped on restart; the intact records are released, each once', async () => {
    const { work, archive, args, listener, destination, close } = await logRun('veil-listen-log-torn-');
    try {
      const files = [slice(10), slice(11), slice(12)];
      expect((await sendInstances(destination, files.slice(0, 2).map(outgoing))).stored).toBe(2);
      listener.child.kill('SIGKILL');
      await listener.exited;
      // the power cut came while the third instance's record was being written: its write was
      // cut in the middle and it was never answered; the files (never fsynced) are lost
      const logs = readdirSync(logDir(work)).sort();
      const last = join(logDir(work), logs[logs.length - 1]);
      const before = readFileSync(last);
      const records = [...scanRecords(before)];
      expect(records.map((r) => sopOf(r.payload))).toEqual(files.slice(0, 2).map(sopOf));
      // the third instance's record as the interrupted write left it: its first half
      const scratch = new SegmentLog(join(work, 'scratch'));
      await scratch.append(records[1].segment, 'third', [files[2]]);
      await scratch.close();
      const whole = readFileSync(join(work, 'scratch', readdirSync(join(work, 'scratch'))[0]));
      appendFileSync(last, whole.subarray(0, whole.length >> 1));
      expect([...scanRecords(readFileSync(last))]).toHaveLength(2);
      rmSync(join(work, 'spool', 'incoming'), { recursive: true });
      mkdirSync(join(work, 'spool', 'incoming'));

      const again = await startListen([...args, '--study-idle', '0.2', '--batch', '3']);
      await waitFor(() => Promise.resolve(archive.deliveries.size >= 2 && readdirSync(logDir(work)).length === 0), 'the two intact instances to be forwarded and the log removed');
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
      const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as ListenReport;
      expect(report.totals).toMatchObject({ recovered: 2, forwarded: 2, quarantined: 0 });
      expect([...archive.deliveries.values()]).toEqual([1, 1]);
      await expectFolderPathBytes(work, files.slice(0, 2));
      expect(readdirSync(join(work, 'spool', 'incoming'))).toEqual([]);
      expect(readdirSync(join(work, 'spool', 'batches'))).toEqual([]);
    } finally {
      close();
    }
  }, 120_000);
});
