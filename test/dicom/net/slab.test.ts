import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDicom } from '../../../src/dicom/codec/read.js';
import { encodeText } from '../../../src/dicom/codec/values.js';
import { writeDicom } from '../../../src/dicom/codec/write.js';
import { deidentifyDicomDirectory } from '../../../src/dicom/index.js';
import { getText, setElement } from '../../../src/dicom/marking.js';
import { sendInstances } from '../../../src/dicom/net/index.js';
import { startScp } from '../../../src/dicom/net/dimse.js';
import { DicomWorkerPool, openDicomWorkers } from '../../../src/dicom/pool.js';
import type { HandedBytes } from '../../../src/dicom/run.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { sharedDicom } from '../helpers.js';
import { outgoing, SECRET, startListen, waitFor } from './listenProcess.js';
import { freePort } from './orthanc.js';

/**
 * The listener's workers hand de-identified outputs back through a shared-memory slab of the
 * pool (src/dicom/pool.ts `OutputSlab`) instead of writing them to the batch's out/ for the
 * main thread to read back; an output larger than a slot, or with no slot free, is written as
 * before. Either way the bytes are the folder path's, and a kill -9 while outputs are held in
 * the slab forwards nothing twice (they are re-made from the spooled input).
 */
const POLICY = 'name: listen-slab\nversion: 1\ndicom: { profile: basic }\n';
const work = mkdtempSync(join(tmpdir(), 'veil-slab-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const policy = unwrap(parsePolicy(POLICY, { file: 'policy.yaml', baseDir: work }));
const secret = Buffer.from(SECRET);

/** Every file under a folder by its path below it, as bytes. */
function filesBelow(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path.slice(dir.length + 1), readFileSync(path));
  }
  return files;
}

describe('deidentifyDicomDirectory with handBack on a pool with a slab', () => {
  it("hands back the outputs that fit a free slot and writes the others; together they are the folder path's bytes", async () => {
    const input = join(work, 'run-in');
    mkdirSync(input);
    // four small files (three more than the slab's slots) and one larger than a slot
    const small = ['CT_small.dcm', 'emri_small.dcm', 'liver.dcm', 'parametric_map_float.dcm'];
    for (const name of [...small, '693_UNCR.dcm']) copyFileSync(join(sharedDicom, name), join(input, name));
    await deidentifyDicomDirectory({ policy, input, output: join(work, 'run-folder'), secret, jobs: 1 });
    const folder = filesBelow(join(work, 'run-folder'));
    expect(folder.size).toBe(5);

    const pool = await openDicomWorkers({ jobs: 1, slab: { slots: 2, slotBytes: 256 * 1024 } });
    const slab = (pool as DicomWorkerPool).slab;
    try {
      const handed = new Map<string, HandedBytes>();
      const outputs = new Map<string, string>();
      await deidentifyDicomDirectory({
        policy,
        input,
        output: join(work, 'run-slab'),
        secret,
        workers: pool,
        handBack: (file, bytes) => handed.set(file, bytes),
        onReport: (report) => report.files.forEach((f) => outputs.set(f.input, f.output ?? '')),
      });
      // held until released: two slots, both taken by small outputs; the large one and the
      // small ones without a slot went to their files
      expect(handed.size).toBe(2);
      expect(slab?.inUse()).toBe(2);
      expect([...handed.keys()].every((name) => small.includes(name))).toBe(true);
      const written = filesBelow(join(work, 'run-slab'));
      expect(written.size).toBe(3);
      expect(written.has(outputs.get('693_UNCR.dcm') ?? '')).toBe(true);
      for (const [name, held] of handed) {
        expect(written.has(outputs.get(name) ?? ''), name).toBe(false);
        expect(held.bytes.equals(folder.get(outputs.get(name) ?? '') ?? Buffer.alloc(0)), name).toBe(true);
      }
      for (const [path, bytes] of written) expect(bytes.equals(folder.get(path) ?? Buffer.alloc(0)), path).toBe(true);
      for (const held of handed.values()) held.release();
      expect(slab?.inUse()).toBe(0);

      // without handBack the same pool writes every file (veil dicom deidentify's way)
      await deidentifyDicomDirectory({ policy, input, output: join(work, 'run-files'), secret, workers: pool });
      const all = filesBelow(join(work, 'run-files'));
      expect([...all.keys()].sort()).toEqual([...folder.keys()].sort());
      for (const [path, bytes] of all) expect(bytes.equals(folder.get(path) ?? Buffer.alloc(0)), path).toBe(true);
      expect(slab?.inUse()).toBe(0);
    } finally {
      await pool.close();
    }
  }, 120_000);
});

const template = readDicom(readFileSync(join(sharedDicom, 'CT_small.dcm')));

/** Instance i of one study: the CT slice with its own SOPInstanceUID, as a Part-10 file. */
function slice(i: number): Buffer {
  const sop = `1.2.826.0.1.3680043.8.498.78.${i + 1}`;
  const dataset = [...template.dataset];
  setElement(dataset, { tag: 0x00080018, vr: 'UI', value: encodeText(sop) });
  const meta = template.meta.map((e) => (e.tag === 0x00020003 ? { ...e, value: encodeText(sop) } : e));
  return Buffer.concat(writeDicom({ ...template, meta, dataset }));
}

describe('veil dicom listen: outputs forwarded from the shared-memory slab', () => {
  it("a kill -9 while a batch's outputs are held in shared memory (out/ empty): what was confirmed is not sent again, the rest is re-made and sent, the folder path's bytes", async () => {
    const dir = join(work, 'listen');
    mkdirSync(dir);
    // an archive that answers the first two instances and leaves the next unanswered, until `answerAll`
    const confirmed = new Map<string, Buffer[]>();
    let answerAll = false;
    let seen = 0;
    const archivePort = await freePort();
    const scp = await startScp('127.0.0.1', archivePort, {
      calledAeTitle: 'RESEARCH',
      allowedCallers: [],
      onAssociation: () => undefined,
      onStore: (instance) => {
        if (!answerAll && ++seen > 2) return new Promise(() => undefined);
        confirmed.set(instance.sopInstanceUid, [...(confirmed.get(instance.sopInstanceUid) ?? []), Buffer.concat(instance.dataset)]);
        return { status: 0 };
      },
    });
    try {
      writeFileSync(join(dir, 'policy.yaml'), POLICY);
      const args = ['--policy', join(dir, 'policy.yaml'), '--forward', `RESEARCH@127.0.0.1:${archivePort}`, '--spool', join(dir, 'spool'), '--study-idle', '600', '--batch', '3', '--batch-wait', '600'];
      const first = await startListen(args);
      const files = Array.from({ length: 3 }, (_, i) => slice(i));
      expect((await sendInstances({ aeTitle: 'VEIL', host: '127.0.0.1', port: first.port, callingAeTitle: 'TESTSCU' }, files.map(outgoing))).stored).toBe(3);
      await waitFor(() => Promise.resolve(seen >= 3), 'the third instance to reach the archive');
      const batches = readdirSync(join(dir, 'spool', 'batches'));
      expect(batches).toHaveLength(1);
      // the outputs are in the slab, not in the batch's out/
      expect(readdirSync(join(dir, 'spool', 'batches', batches[0], 'out'))).toEqual([]);
      await waitFor(() => Promise.resolve(readFileSync(join(dir, 'spool', 'batches', batches[0], 'sent.log'), 'utf8').split('\n').filter(Boolean).length === 2), 'two names in sent.log');
      first.child.kill('SIGKILL');
      await first.exited;
      expect(confirmed.size).toBe(2);

      answerAll = true;
      const second = await startListen(args);
      await waitFor(() => Promise.resolve(confirmed.size >= 3), 'the third instance to be forwarded');
      await waitFor(() => Promise.resolve(readdirSync(join(dir, 'spool', 'batches')).length === 0), 'the batch to be done');
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect([...confirmed.values()].map((copies) => copies.length)).toEqual([1, 1, 1]);

      // each forwarded data set is the folder path's output's data set
      mkdirSync(join(dir, 'folder-in'));
      files.forEach((file, i) => writeFileSync(join(dir, 'folder-in', `${i}.dcm`), file));
      await deidentifyDicomDirectory({ policy, input: join(dir, 'folder-in'), output: join(dir, 'folder-out'), secret, jobs: 1 });
      const folder = [...filesBelow(join(dir, 'folder-out')).values()];
      expect(folder).toHaveLength(3);
      for (const bytes of folder) {
        const parsed = readDicom(bytes);
        const sop = getText(parsed.dataset, 0x00080018) ?? '';
        const forwarded = confirmed.get(sop)?.[0];
        expect(forwarded, sop).toBeDefined();
        // the data set follows the meta group: preamble 128, "DICM", then the group's elements
        const datasetAt = 144 + bytes.readUInt32LE(140);
        expect(forwarded?.equals(bytes.subarray(datasetAt)), sop).toBe(true);
      }
    } finally {
      scp.close();
    }
  }, 120_000);
});
