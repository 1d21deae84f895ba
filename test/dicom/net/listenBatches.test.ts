import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicom } from '../../../src/dicom/codec/read.js';
import { encodeText } from '../../../src/dicom/codec/values.js';
import { writeDicom } from '../../../src/dicom/codec/write.js';
import { deidentifyDicomDirectory, remapUid } from '../../../src/dicom/index.js';
import { getText, setElement } from '../../../src/dicom/marking.js';
import { sendInstances, type Destination, type ListenReport } from '../../../src/dicom/net/index.js';
import { startScp } from '../../../src/dicom/net/dimse.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { sharedDicom } from '../helpers.js';
import { countingArchive, outgoing, SECRET, startListen, waitFor, type CountingArchive, type Running } from './listenProcess.js';
import { freePort } from './orthanc.js';

/**
 * A study released in batches while it arrives (`--batch N`): each batch de-identified and
 * forwarded before the study is complete, one new StudyInstanceUID for the whole study, the
 * folder path's bytes, and nothing forwarded twice across a kill -9 between two batches.
 */
const POLICY = 'name: listen-batches\nversion: 1\ndicom: { profile: basic }\n';
const template = readDicom(readFileSync(join(sharedDicom, 'CT_small.dcm')));
const STUDY = getText(template.dataset, 0x0020000d) ?? '';

/** Instance i of one study: the CT slice with its own SOPInstanceUID, as a Part-10 file. */
function slice(i: number): Buffer {
  const sop = `1.2.826.0.1.3680043.8.498.77.${i + 1}`;
  const dataset = [...template.dataset];
  setElement(dataset, { tag: 0x00080018, vr: 'UI', value: encodeText(sop) });
  const meta = template.meta.map((e) => (e.tag === 0x00020003 ? { ...e, value: encodeText(sop) } : e));
  return Buffer.concat(writeDicom({ ...template, meta, dataset }));
}

/** The listener's arguments in both tests: forward to the archive, keep copies in out/, spool and report in `work`. */
function listenArgs(work: string, archivePort: number): string[] {
  return ['--policy', join(work, 'policy.yaml'), '--forward', `RESEARCH@127.0.0.1:${archivePort}`, '--out', join(work, 'out'), '--spool', join(work, 'spool'), '--report', join(work, 'report.json')];
}

/** The files under a folder, by name, at any depth. */
function filesUnder(dir: string): { path: string; name: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => ({ path: join(e.parentPath, e.name), name: e.name }));
}

/**
 * A work folder with the policy, an archive that counts deliveries, and a listener that
 * releases only full batches of 3 (neither the idle time nor the batch wait can release anything).
 */
async function batchRun(prefix: string): Promise<{ work: string; archive: CountingArchive; args: string[]; listener: Running; destination: Destination; close(): void }> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const archive = await countingArchive();
  const close = () => {
    archive.close();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(work, 'policy.yaml'), POLICY);
    const args = listenArgs(work, archive.port);
    const listener = await startListen([...args, '--study-idle', '600', '--batch', '3', '--batch-wait', '600']);
    const destination: Destination = { aeTitle: 'VEIL', host: '127.0.0.1', port: listener.port, callingAeTitle: 'TESTSCU' };
    return { work, archive, args, listener, destination, close };
  } catch (error) {
    close();
    throw error;
  }
}

describe('veil dicom listen --batch: a study forwarded while it arrives', () => {
  it("forwards full batches before the study is complete; one new StudyInstanceUID; the folder path's bytes", async () => {
    const { work, archive, args, listener, destination, close } = await batchRun('veil-listen-batches-');
    try {
      const files = Array.from({ length: 7 }, (_, i) => slice(i));
      expect((await sendInstances(destination, files.map(outgoing))).stored).toBe(7);
      // two full batches of the study, forwarded while its last instance still waits for more
      await waitFor(() => Promise.resolve(archive.deliveries.size >= 6), 'two batches to be forwarded');
      listener.child.kill('SIGTERM');
      expect(await listener.exited).toBe(0);
      expect(archive.deliveries.size).toBe(6);
      const first = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as ListenReport;
      expect(first.totals).toMatchObject({ received: 7, studiesReleased: 2, forwarded: 6 });
      expect(readdirSync(join(work, 'spool', 'incoming'))).toHaveLength(1);

      // the rest of the study, after a restart: released once idle
      const again = await startListen([...args, '--study-idle', '0.2', '--batch', '3', '--batch-wait', '600']);
      await waitFor(() => Promise.resolve(archive.deliveries.size >= 7), 'the last instance to be forwarded');
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
      expect([...archive.deliveries.values()]).toEqual(files.map(() => 1));

      // one study in, one study out: the keyed remap of the original StudyInstanceUID
      const secret = Buffer.from(SECRET);
      expect(readdirSync(join(work, 'out'))).toEqual([remapUid(secret, STUDY)]);
      // each forwarded file is what the folder path makes of the whole study at once
      await expectFolderPathBytes(work, files, 7);
      expect(readdirSync(join(work, 'spool', 'batches'))).toEqual([]);
      expect(readdirSync(join(work, 'spool', 'incoming'))).toEqual([]);
    } finally {
      close();
    }
  }, 120_000);

  it('a kill -9 between two batches of a study: nothing acknowledged is lost, nothing forwarded twice', async () => {
    const { work, archive, args, listener: first, destination, close } = await batchRun('veil-listen-batches-crash-');
    try {
      const files = Array.from({ length: 5 }, (_, i) => slice(i));
      // the first batch is forwarded; the next two instances are acknowledged, their batch still open
      expect((await sendInstances(destination, files.slice(0, 3).map(outgoing))).stored).toBe(3);
      await waitFor(() => Promise.resolve(archive.deliveries.size >= 3), 'the first batch to be forwarded');
      // its sent.log is durable once its batch folder is gone
      await waitFor(() => Promise.resolve(readdirSync(join(work, 'spool', 'batches')).length === 0), 'the first batch to be done');
      expect((await sendInstances(destination, files.slice(3).map(outgoing))).stored).toBe(2);
      first.child.kill('SIGKILL');
      await first.exited;
      expect(archive.deliveries.size).toBe(3);

      const second = await startListen([...args, '--study-idle', '0.2', '--batch', '3']);
      await waitFor(() => Promise.resolve(archive.deliveries.size >= 5), 'the second batch to be forwarded');
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as ListenReport;
      expect(report.totals).toMatchObject({ recovered: 2, forwarded: 2 });
      expect([...archive.deliveries.values()]).toEqual(files.map(() => 1));
      expect(readdirSync(join(work, 'out'))).toEqual([remapUid(Buffer.from(SECRET), STUDY)]);
      expect(readdirSync(join(work, 'spool', 'batches'))).toEqual([]);
      expect(readdirSync(join(work, 'spool', 'incoming'))).toEqual([]);
    } finally {
      close();
    }
  }, 120_000);
});

describe('veil dicom listen: a kill -9 while a batch is being delivered', () => {
  it("what was confirmed is not sent again, the rest is re-made and sent, the folder path's bytes; the batch's run report is not written to the spool", async () => {
    const work = mkdtempSync(join(tmpdir(), 'veil-listen-memory-'));
    // an archive that answers the first two instances it gets and leaves the others unanswered
    // (the listener then holds a de-identified batch, partly delivered), until `answerAll`
    const confirmed = new Map<string, number>();
    let answerAll = false;
    let seen = 0;
    const archivePort = await freePort();
    const scp = await startScp('127.0.0.1', archivePort, {
      calledAeTitle: 'RESEARCH',
      allowedCallers: [],
      onAssociation: () => undefined,
      onStore: (instance) => {
        if (!answerAll && ++seen > 2) return new Promise(() => undefined);
        confirmed.set(instance.sopInstanceUid, (confirmed.get(instance.sopInstanceUid) ?? 0) + 1);
        return { status: 0 };
      },
    });
    try {
      writeFileSync(join(work, 'policy.yaml'), POLICY);
      const args = [...listenArgs(work, archivePort), '--study-idle', '600', '--batch', '3', '--batch-wait', '600'];
      const first = await startListen(args);
      const files = Array.from({ length: 3 }, (_, i) => slice(i));
      expect((await sendInstances({ aeTitle: 'VEIL', host: '127.0.0.1', port: first.port, callingAeTitle: 'TESTSCU' }, files.map(outgoing))).stored).toBe(3);
      await waitFor(() => Promise.resolve(seen >= 3), 'the third instance to reach the archive');
      // the batch in the spool: its input, outputs and sent.log (its run report is kept in memory)
      const batches = readdirSync(join(work, 'spool', 'batches'));
      expect(batches).toHaveLength(1);
      expect(readdirSync(join(work, 'spool', 'batches', batches[0])).sort()).toEqual(['in', 'out', 'sent.log']);
      // the two confirmed names are durable once the log holds them (fsynced in groups)
      await waitFor(() => Promise.resolve(readFileSync(join(work, 'spool', 'batches', batches[0], 'sent.log'), 'utf8').split('\n').filter(Boolean).length === 2), 'two names in sent.log');
      first.child.kill('SIGKILL');
      await first.exited;
      expect(confirmed.size).toBe(2);

      answerAll = true;
      const second = await startListen(args);
      await waitFor(() => Promise.resolve(confirmed.size >= 3), 'the third instance to be forwarded');
      await waitFor(() => Promise.resolve(readdirSync(join(work, 'spool', 'batches')).length === 0), 'the batch to be done');
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect([...confirmed.values()]).toEqual([1, 1, 1]);
      // the instance sent after the restart is the folder path's
      await expectFolderPathBytes(work, files, 3);
    } finally {
      scp.close();
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});

/**
 * The files in `work/out` are `count` files, each byte for byte what the folder path
 * (`deidentifyDicomDirectory` on all of `files` at once) makes of the same instance.
 */
async function expectFolderPathBytes(work: string, files: readonly Buffer[], count: number): Promise<void> {
  mkdirSync(join(work, 'folder-in'));
  files.forEach((file, i) => writeFileSync(join(work, 'folder-in', `${i}.dcm`), file));
  const policy = unwrap(parsePolicy(POLICY, { file: 'policy.yaml', baseDir: work }));
  await deidentifyDicomDirectory({ policy, input: join(work, 'folder-in'), output: join(work, 'folder-out'), secret: Buffer.from(SECRET), jobs: 1 });
  const sopOf = (bytes: Buffer) => getText(readDicom(bytes).dataset, 0x00080018) ?? '';
  const folderBySop = new Map(filesUnder(join(work, 'folder-out')).map((f) => [sopOf(readFileSync(f.path)), readFileSync(f.path)]));
  const written = filesUnder(join(work, 'out'));
  expect(written).toHaveLength(count);
  for (const file of written) {
    const bytes = readFileSync(file.path);
    expect(folderBySop.get(sopOf(bytes))?.equals(bytes), file.name).toBe(true);
  }
}
