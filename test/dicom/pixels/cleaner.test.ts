import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicom, deidentifyDicomDirectory } from '../../../src/dicom/index.js';
import { buildPixelInput } from '../../../src/dicom/pixelStep.js';
import type { DicomPixelInput, PixelCleaner } from '../../../src/dicom/pixelCleaner.js';
import { decodeLossless } from './helpers.js';
import { createDicomPixelCleaner, decodeDicomFrames, dicomPixelCleanerFactory } from '../../../src/dicom/pixels/cleaner.js';
import { syntaxInfo } from '../../../src/standard/transferSyntax.js';
import { encodeLossless, initCodecs } from '../../../src/dicom/pixels/codecs.js';
import { frameByteLength } from '../../../src/dicom/pixels/layout.js';
import { frameView } from '../../../src/dicom/pixels/view.js';
import { createTextEngine, findText, type TextEngine } from '../../../src/image/textPipeline.js';
import { closeTextModels } from '../../../src/image/text/session.js';
import { buildHeaderMatcher } from '../../../src/image/phi/headerValues.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import type { PixelsPolicy } from '../../../src/policy/sections/pixels.js';

const root = resolve(import.meta.dirname, '../../..');
const data = resolve(root, '../shared/data/dicom');

async function inputOf(name: string, identifying: string[] = []): Promise<DicomPixelInput> {
  const file = readDicom(await readFile(join(data, name)));
  const input = buildPixelInput(name, file.dataset, file.transferSyntax, identifying);
  if (!input) throw new Error(`${name} has no pixel data`);
  return input;
}

// the text model sessions of this thread end with the file (it may share its worker with other files)
afterAll(closeTextModels);

const always: PixelsPolicy = { burnedInText: { scan: 'always', redact: 'phi', fill: 'black', region: 'box', encapsulatedDocuments: 'reject' }, faces: { detect: false, action: 'blur' } };

describe('decoding every transfer syntax of the shared data', () => {
  beforeAll(() => initCodecs());

  it.each([
    ['MR_small.dcm', 'MR_small_RLE.dcm'],
    ['MR_small.dcm', 'MR_small_jpeg_ls_lossless.dcm'],
    ['MR_small.dcm', 'MR_small_jp2klossless.dcm'],
    ['MR_small.dcm', 'MR_small_bigendian.dcm'],
    ['MR_small.dcm', 'MR_small_implicit.dcm'],
    ['693_UNCR.dcm', '693_J2KR.dcm'],
    ['emri_small.dcm', 'emri_small_jpeg_ls_lossless.dcm'],
  ])('%s and %s decode to the same samples', async (plain, coded) => {
    const a = await inputOf(plain);
    const b = await inputOf(coded);
    const left = decodeDicomFrames(a, syntaxInfo(a.transferSyntaxUID)!);
    const right = decodeDicomFrames(b, syntaxInfo(b.transferSyntaxUID)!);
    expect(right.frames).toHaveLength(a.numberOfFrames);
    right.frames.forEach((frame, i) => expect(Buffer.compare(Buffer.from(frame.subarray(0, left.frames[i].length)), Buffer.from(left.frames[i]))).toBe(0));
  });

  it.each([
    'examples_ybr_color.dcm',
    'JPEG-lossy.dcm',
    'JPEGLSNearLossless_16.dcm',
    'HTJ2KLossless_08_RGB.dcm',
    'SC_rgb_jpeg_gdcm.dcm',
    'SC_rgb_jpeg_dcmtk.dcm',
    'SC_rgb_rle_2frame.dcm',
    'OBXXXX1A_rle.dcm',
    '693_J2KI.dcm',
    'SC_ybr_full_422_uncompressed.dcm',
    'ExplVR_BigEnd.dcm',
    'gdcm-US-ALOKA-16.dcm',
    'deid-data_US_GREYSCALE_CINE.dcm',
    'RG3_J2KR.dcm',
    'deid-data_ctbrain1.dcm',
  ])('%s decodes every frame at full size', async (name) => {
    const input = await inputOf(name);
    const { frames, layout } = decodeDicomFrames(input, syntaxInfo(input.transferSyntaxUID)!);
    expect(frames).toHaveLength(input.numberOfFrames);
    for (const frame of frames) expect(frame.length).toBeGreaterThanOrEqual(frameByteLength(layout));
    const view = frameView(frames[0], layout, { slope: 1, intercept: 0, palette: input.palette });
    expect([view.width, view.height]).toEqual([input.columns, input.rows]);
    // not a blank image
    expect(new Set(view.data.filter((_, i) => i % 7 === 0)).size).toBeGreaterThan(4);
  });

  it('re-encodes losslessly in RLE, JPEG-LS and JPEG 2000', async () => {
    const input = await inputOf('MR_small.dcm');
    const { frames, layout } = decodeDicomFrames(input, syntaxInfo(input.transferSyntaxUID)!);
    for (const codec of ['rle', 'jpegls', 'j2k', 'htj2k'] as const) {
      const format = { rows: layout.rows, columns: layout.columns, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: layout.bitsStored, pixelRepresentation: layout.signed ? 1 : 0, planarConfiguration: 0, photometricInterpretation: 'MONOCHROME2' };
      const encoded = encodeLossless(codec, frames[0], format);
      expect(encoded).toBeDefined();
      expect(Buffer.compare(Buffer.from(decodeLossless(codec, encoded!, format).subarray(0, frames[0].length)), Buffer.from(frames[0]))).toBe(0);
    }
  });
});

describe('cleaning DICOM files with burned-in text', () => {
  let cleaner: PixelCleaner;
  /** The independent look at the written pixels: a text engine of its own (not the cleaner's), loaded once for the files below. */
  let checker: Promise<TextEngine> | undefined;
  beforeAll(async () => {
    cleaner = await createDicomPixelCleaner();
  });
  afterAll(() => cleaner.close());

  it.each([
    ['US1_UNCR.dcm', 'same', []],
    ['OBXXXX1A_rle.dcm', 'same', []],
    ['presidio_2_ORIGINAL.dcm', 'same', ['KAUFMAN^SCOTT']],
    ['deid-data_US_RGB_IMAGE.dcm', 'same', []],
  ] as [string, string, string[]][])('%s: text removed, transfer syntax %s, verified', async (name, syntax, identifying) => {
    const input = await inputOf(name, identifying);
    const result = await cleaner.clean(input, always);
    expect(result.action).toBe('replaced');
    if (result.action !== 'replaced') return;
    expect(result.report.transferSyntax).toBe(syntax);
    expect(result.transferSyntaxUID).toBe(input.transferSyntaxUID);
    expect(result.report.verification).toBe('passed');
    expect(result.report.regions.filter((r) => r.redacted && r.class === 'phi').length).toBeGreaterThan(0);
    // an independent look at the written pixels finds no PHI left
    const cleaned = { ...input, pixelData: result.pixelData, encapsulated: result.encapsulated, bigEndian: false };
    const { frames, layout } = decodeDicomFrames(cleaned, syntaxInfo(result.transferSyntaxUID)!);
    const view = frameView(frames[0], layout, { windowCenter: input.windowCenter?.[0], windowWidth: input.windowWidth?.[0], slope: input.rescaleSlope ?? 1, intercept: input.rescaleIntercept ?? 0, palette: input.palette });
    const engine = await (checker ??= createTextEngine(1));
    const left = await findText(engine, view, buildHeaderMatcher(identifying));
    expect(left.filter((f) => f.class === 'phi')).toEqual([]);
    // only a small part of the image changed
    const before = decodeDicomFrames(input, syntaxInfo(input.transferSyntaxUID)!).frames[0];
    let changed = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== frames[0][i]) changed++;
    expect(changed / before.length).toBeLessThan(0.15);
  });

  it('fills a face in a PALETTE COLOR secondary capture at native depth when faces.detect is on', async () => {
    const input = await inputOf('OT-PAL-8-face.dcm');
    const result = await cleaner.clean(input, { burnedInText: { ...always.burnedInText, scan: 'never' }, faces: { detect: true, action: 'blur' } });
    expect(result.action).toBe('replaced');
    expect(result.report.regions.filter((r) => r.kind === 'face').length).toBeGreaterThanOrEqual(1);
    expect(result.report.verification).toBe('passed');
  });

  it('scan: auto triages a CT without BurnedInAnnotation (no text: left as stored) and rejects undecodable data it must scan', async () => {
    const auto: PixelsPolicy = { ...always, burnedInText: { ...always.burnedInText, scan: 'auto' } };
    const ct = await cleaner.clean(await inputOf('CT_small.dcm'), auto);
    expect(ct.action).toBe('unchanged');
    expect(ct.report).toMatchObject({ scanned: false, status: 'triaged-clean', frames: { total: 1, triaged: 1, textLike: 0, scanned: 0 } });
    // presidio_2 (a CT, no BurnedInAnnotation) carries a name and a birth date: triage escalates it
    const presidio = await cleaner.clean(await inputOf('presidio_2_ORIGINAL.dcm', ['KAUFMAN^SCOTT']), auto);
    expect(presidio.action).toBe('replaced');
    expect(presidio.report).toMatchObject({ status: 'scanned', verification: 'passed', frames: { triaged: 1, textLike: 1, scanned: 1 } });
    const never = await cleaner.clean(await inputOf('presidio_2_ORIGINAL.dcm'), { ...always, burnedInText: { ...always.burnedInText, scan: 'never' } });
    expect(never.action).toBe('unchanged');
    expect(never.report.status).toBe('not-scanned');
    const seg = await cleaner.clean(await inputOf('liver.dcm'), always);
    expect(seg.action).toBe('rejected');
  });
});

describe('veil dicom deidentify with the pixel cleaner', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'veil-dcmpx-'));
    await mkdir(join(dir, 'in'));
    for (const name of ['US1_UNCR.dcm', 'OBXXXX1A_rle.dcm', 'MR_small_RLE.dcm']) await copyFile(join(data, name), join(dir, 'in', name));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes files that dcmtk reads, with the text gone and the transfer syntax kept', async () => {
    const policy = unwrap(parsePolicy('name: px\nversion: 1\ndicom:\n  profile: basic\npixels:\n  burnedInText: { scan: auto, redact: phi, fill: black }\n', { file: 'px.yaml', baseDir: dir }));
    const report = await deidentifyDicomDirectory({ policy, input: join(dir, 'in'), output: join(dir, 'out'), secret: Buffer.from('0123456789abcdef0123'), jobs: 1, pixelCleaner: dicomPixelCleanerFactory });
    expect(report.totals).toBeDefined();
    const expected: Record<string, string> = { 'US1_UNCR.dcm': 'LittleEndianExplicit', 'OBXXXX1A_rle.dcm': 'RLELossless', 'MR_small_RLE.dcm': 'RLELossless' };
    const hasDcmtk = spawnSync('dcmdump', ['--version']).status === 0;
    for (const [name, syntax] of Object.entries(expected)) {
      const out = readDicom(await readFile(join(dir, 'out', name)));
      expect(out.transferSyntax.uid).toBe((await inputOf(name)).transferSyntaxUID);
      if (!hasDcmtk) continue;
      const dump = spawnSync('dcmdump', ['-q', join(dir, 'out', name)], { encoding: 'utf8' });
      expect(dump.status).toBe(0);
      expect(dump.stdout).toContain(`=${syntax}`);
      if (name !== 'MR_small_RLE.dcm') expect(dump.stdout).toMatch(/\(0028,0301\) CS \[NO\]/);
      const png = spawnSync('dcmj2pnm', ['-q', join(dir, 'out', name), join(dir, `${name}.pnm`)], { encoding: 'utf8' });
      expect(png.status).toBe(0);
    }
  });
});
