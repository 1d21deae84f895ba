import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processBatch, type FileSettings } from '../../src/dicom/file.js';
import { remapUid } from '../../src/dicom/uids.js';
import { patientPseudonym, valuePseudonym } from '../../src/dicom/pseudonyms.js';
import { dateOffsetDays } from '../../src/dicom/dates.js';
import { readDicom } from '../../src/dicom/codec/read.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { SECRET, repoRoot, sharedDicom } from './helpers.js';

const work = mkdtempSync(path.join(tmpdir(), 'veil-dicom-batch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('files in batches (one worker message for several files)', () => {
  it('answers every file of a batch in order: a missing, a non-DICOM and a good file each get their own result', async () => {
    const policy = unwrap(parsePolicy('name: t\nversion: 1\ndicom: { profile: basic }\n', { file: 't.yaml', baseDir: repoRoot }));
    const settings: FileSettings = { dicom: policy.dicom!, secret: new Uint8Array(SECRET), returnOriginalIds: false };
    writeFileSync(path.join(work, 'notes.txt'), 'not a DICOM file at all, just some words\n');
    const out = path.join(work, 'out');
    const tasks = [
      { inputPath: path.join(work, 'missing.dcm'), relativePath: 'missing.dcm', outputPath: path.join(out, 'missing.dcm') },
      { inputPath: path.join(work, 'notes.txt'), relativePath: 'notes.txt', outputPath: path.join(out, 'notes.txt') },
      { inputPath: path.join(sharedDicom, 'deid-data_ctbrain1.dcm'), relativePath: 'ct.dcm', outputPath: path.join(out, 'ct.dcm') },
    ];
    const results = await processBatch(tasks, settings);
    expect(results.map((r) => [r.input, r.status])).toEqual([
      ['missing.dcm', 'rejected'],
      ['notes.txt', 'skipped'],
      ['ct.dcm', 'ok'],
    ]);
    // the good file is written whole, under its own name, and no temp file is left beside it
    expect(readdirSync(out)).toEqual(['ct.dcm']);
    expect(readDicom(readFileSync(path.join(out, 'ct.dcm'))).dataset.length).toBeGreaterThan(10);
    expect(existsSync(path.join(out, 'missing.dcm'))).toBe(false);
  });
});

describe('keyed digests memoized per key', () => {
  it('never answers for one key with a value computed under another key', () => {
    const other = new Uint8Array(Buffer.from('another-secret-for-veil-0123456789'));
    const uid = '1.2.826.0.1.3680043.9999.77';
    const first = remapUid(SECRET, uid);
    const second = remapUid(other, uid);
    expect(second).not.toBe(first);
    // asked again, in the other order, each key keeps its own answer
    expect(remapUid(SECRET, uid)).toBe(first);
    expect(remapUid(other, uid)).toBe(second);
    expect(patientPseudonym(other, 'id:MRN1')).not.toBe(patientPseudonym(SECRET, 'id:MRN1'));
    expect(valuePseudonym(other, 'AccessionNumber', 'A1', 16)).not.toBe(valuePseudonym(SECRET, 'AccessionNumber', 'A1', 16));
    // the same key in a new object (a new run) gives the same values
    expect(remapUid(new Uint8Array(SECRET), uid)).toBe(first);
    const offsets = new Set(Array.from({ length: 40 }, (_, i) => dateOffsetDays(SECRET, `id:P${i}`, 1, 3650)));
    expect(offsets.size).toBeGreaterThan(30);
  });
});
