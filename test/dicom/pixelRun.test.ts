import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deidentifyDicomDirectory, type PixelCleanerFactory } from '../../src/dicom/index.js';
import { readDicom } from '../../src/dicom/codec/read.js';
import { getText } from '../../src/dicom/marking.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { createBlankingCleaner } from '../fixtures/dicom/blankingCleaner.js';
import { repoRoot, SECRET, sharedDicom } from './helpers.js';

let work: string;
const policy = unwrap(
  parsePolicy('name: pixels\nversion: 1\ndicom: { profile: basic }\npixels: { burnedInText: { scan: always } }\n', { file: 'p.yaml', baseDir: repoRoot }),
);
const FILES = ['CT_small.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm', 'rtplan.dcm'];

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'veil-dicom-pixels-'));
  for (const name of FILES) cpSync(path.join(sharedDicom, name), path.join(work, 'in', name));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function runWith(factory: PixelCleanerFactory, out: string) {
  const report = await deidentifyDicomDirectory({ policy, input: path.join(work, 'in'), output: path.join(work, out), secret: SECRET, jobs: 2, pixelCleaner: factory });
  expect(report.files.filter((f) => f.status !== "ok").map((f) => f.reason)).toEqual([]);
  expect(report.totals.ok).toBe(FILES.length);
  // native images were replaced (2), the RLE one left as stored, the plan has no pixels
  expect(report.pixels).toMatchObject({ replaced: 2, unchanged: 1 });
  // each scanned file carries its own pixel record; a file without pixels has none
  const ctRecord = report.files.find((f) => f.input === 'CT_small.dcm');
  expect(ctRecord?.pixels).toMatchObject({ scanned: true, transferSyntax: 'same' });
  expect(report.files.find((f) => f.input === 'rtplan.dcm')?.pixels).toBeUndefined();
  const ct = readDicom(readFileSync(path.join(work, out, 'CT_small.dcm')));
  expect(getText(ct.dataset, 0x00280301)).toBe('NO');
  const rle = readFileSync(path.join(work, out, 'MR_small_RLE.dcm'));
  const original = readDicom(readFileSync(path.join(sharedDicom, 'MR_small_RLE.dcm')));
  const pixels = original.dataset.find((e) => e.tag === 0x7fe00010)?.verbatim as Uint8Array;
  expect(rle.indexOf(Buffer.from(pixels))).toBeGreaterThan(0);
  return report;
}

describe('pixel cleaner in a directory run', () => {
  it('runs a plain factory on the main thread', async () => {
    await runWith(createBlankingCleaner, 'out-main');
  });

  it('builds one cleaner per worker thread from the factory module URL', async () => {
    const factory: PixelCleanerFactory = Object.assign(() => createBlankingCleaner(), {
      moduleUrl: pathToFileURL(path.join(repoRoot, 'test/fixtures/dicom/blankingCleaner.ts')).href,
      exportName: 'createBlankingCleaner',
    });
    await runWith(factory, 'out-workers');
  });
});
