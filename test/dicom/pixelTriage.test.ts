/**
 * Issue 14, must show: a CT slice with a name and a birth date rendered into its pixels and
 * no BurnedInAnnotation (made here from the text-free 693_UNCR.dcm) is cleaned under
 * `scan: auto`. Before, auto skipped every CT without BurnedInAnnotation YES.
 * Second case: the text burned at the slice's maximum stored value over bright tissue,
 * which the slice's own window (40/100) renders the same white as the text: the window
 * view shows nothing, the stored-value look finds it, and the file comes out cleaned.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deidentifyDicomDirectory } from '../../src/dicom/index.js';
import { readDicom } from '../../src/dicom/codec/read.js';
import { buildPixelInput } from '../../src/dicom/pixelStep.js';
import type { DicomPixelInput } from '../../src/dicom/pixelCleaner.js';
import { readSample } from '../../src/dicom/pixels/layout.js';
import { syntaxInfo } from '../../src/standard/transferSyntax.js';
import { frameView, rangeView, storedRange, storedSamples } from '../../src/dicom/pixels/view.js';
import { decodeDicomFrames, dicomPixelCleanerFactory } from '../../src/dicom/pixels/cleaner.js';
import { createTextEngine, findText, type TextEngine } from '../../src/image/textPipeline.js';
import { closeTextModels } from '../../src/image/text/session.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { repoRoot, SECRET, sharedDicom } from './helpers.js';

const SIDE = 512;
/** Stored value of the glyphs: HU 976, white in the slice's own window (40/100). */
const GLYPH = 2000;
/** Stored value of the bright tissue under the text in the second case: HU 400 (+ up to 60 of texture). */
const BRIGHT_TISSUE = 1424;

/** A 512² mask (1 = glyph) of two lines a scanner prints top left: a name and a birth date. */
async function textMask(): Promise<Uint8Array> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIDE}" height="${SIDE}"><g font-family="DejaVu Sans Mono" font-size="15" fill="#fff">
<text x="8" y="22">SMITH, JOHN</text><text x="8" y="44">DOB 14/03/1957</text></g></svg>`;
  const { data } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const mask = new Uint8Array(SIDE * SIDE);
  for (let i = 0; i < mask.length; i++) mask[i] = data[i * 4 + 3] > 127 ? 1 : 0;
  return mask;
}

/** The frame's whole stored range, linear (where text at the maximum stands out from bright tissue). */
function rangeViewOf(input: DicomPixelInput) {
  const { frames, layout } = decodeDicomFrames(input, syntaxInfo(input.transferSyntaxUID)!);
  const samples = storedSamples(frames[0], layout)!;
  return rangeView(samples, layout, storedRange(samples)!);
}

function viewOf(input: DicomPixelInput, bytes?: Uint8Array) {
  const { frames, layout } = decodeDicomFrames(bytes ? { ...input, pixelData: bytes } : input, syntaxInfo(input.transferSyntaxUID)!);
  return frameView(frames[0], layout, { windowCenter: input.windowCenter?.[0], windowWidth: input.windowWidth?.[0], slope: input.rescaleSlope ?? 1, intercept: input.rescaleIntercept ?? 0 });
}

function pixelInputOf(file: string): DicomPixelInput {
  const parsed = readDicom(readFileSync(file));
  const input = buildPixelInput(path.basename(file), parsed.dataset, parsed.transferSyntax, []);
  if (!input) throw new Error('no pixel data');
  return input;
}

let work: string;
let engine: TextEngine;
/** The text's glyph pixels, and the stored value the second case burns them at (the slice's maximum). */
let glyphMask: Uint8Array;
let textValue: number;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'veil-triage-'));
  mkdirSync(path.join(work, 'in'));
  const bytes = Buffer.from(readFileSync(path.join(sharedDicom, '693_UNCR.dcm')));
  // the native 16-bit pixel data is the file's last element: its value is the last 512² × 2 bytes
  const start = bytes.length - SIDE * SIDE * 2;
  expect(bytes.readUInt16LE(start - 12)).toBe(0x7fe0);
  const mask = await textMask();
  for (let i = 0; i < mask.length; i++) if (mask[i]) bytes.writeInt16LE(GLYPH, start + 2 * i);
  writeFileSync(path.join(work, 'in', 'ct-with-name.dcm'), bytes);
  writeFileSync(path.join(work, 'in', 'ct-plain.dcm'), readFileSync(path.join(sharedDicom, '693_UNCR.dcm')));
  // Bright tissue (≈ 400–460 HU, as bone or contrast shows: white in the 40/100 window) under
  // the text's rows, and the text at the slice's maximum stored value, as devices burn it.
  mkdirSync(path.join(work, 'bright'));
  const bright = Buffer.from(readFileSync(path.join(sharedDicom, '693_UNCR.dcm')));
  let max = -Infinity;
  for (let i = 0; i < SIDE * SIDE; i++) max = Math.max(max, bright.readInt16LE(start + 2 * i));
  for (let y = 4; y < 52; y++) {
    for (let x = 0; x < 200; x++) bright.writeInt16LE(BRIGHT_TISSUE + ((x * 7 + y * 13) % 61), start + 2 * (y * SIDE + x));
  }
  for (let i = 0; i < mask.length; i++) if (mask[i]) bright.writeInt16LE(max, start + 2 * i);
  glyphMask = mask;
  textValue = max;
  writeFileSync(path.join(work, 'bright', 'ct-text-at-max.dcm'), bright);
  engine = await createTextEngine(1);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));
// the text model sessions of this thread end with the file (it may share its worker with other files)
afterAll(closeTextModels);

describe('scan: auto on a CT with a name burned in and no BurnedInAnnotation', () => {
  it('the slice made here carries readable PHI and no BurnedInAnnotation', async () => {
    const input = pixelInputOf(path.join(work, 'in', 'ct-with-name.dcm'));
    expect(input.burnedInAnnotation).toBeUndefined();
    expect(input.modality).toBe('CT');
    const found = await findText(engine, viewOf(input), undefined);
    expect(found.filter((f) => f.class === 'phi').length).toBeGreaterThan(0);
  });

  it('is triaged, scanned in full and written with the text unreadable; a plain slice is triaged clean', async () => {
    const policy = unwrap(parsePolicy('name: auto\nversion: 1\ndicom: { profile: basic }\npixels: { burnedInText: { scan: auto } }\n', { file: 'p.yaml', baseDir: repoRoot }));
    const report = await deidentifyDicomDirectory({ policy, input: path.join(work, 'in'), output: path.join(work, 'out'), secret: SECRET, jobs: 1, pixelCleaner: dicomPixelCleanerFactory });
    const named = report.files.find((f) => f.input === 'ct-with-name.dcm');
    expect(named?.status).toBe('ok');
    expect(named?.pixelScan?.status).toBe('scanned');
    expect(named?.pixels).toMatchObject({ verification: 'passed', frames: { total: 1, triaged: 1, textLike: 1, scanned: 1 } });
    expect(report.files.find((f) => f.input === 'ct-plain.dcm')?.pixelScan?.status).toBe('triaged-clean');
    expect(report.pixels).toMatchObject({ scanned: 1, triagedClean: 1, replaced: 1 });
    const written = pixelInputOf(path.join(work, 'out', 'ct-with-name.dcm'));
    const left = await findText(engine, viewOf(written), undefined);
    expect(left.filter((f) => f.class === 'phi')).toEqual([]);
  }, 120_000);
});

describe('scan: auto on a CT whose text is at the maximum stored value over bright tissue', () => {
  it('the window view shows no text there; the stored-range view reads it as PHI', async () => {
    const input = pixelInputOf(path.join(work, 'bright', 'ct-text-at-max.dcm'));
    expect(input.burnedInAnnotation).toBeUndefined();
    const view = viewOf(input);
    expect(await engine.detector.detect(view)).toEqual([]);
    const found = await findText(engine, rangeViewOf(input), undefined);
    expect(found.filter((f) => f.class === 'phi').length).toBeGreaterThan(0);
  });

  it('is triaged through the stored-value look, scanned and written with the text unreadable', async () => {
    const policy = unwrap(parsePolicy('name: auto\nversion: 1\ndicom: { profile: basic }\npixels: { burnedInText: { scan: auto } }\n', { file: 'p.yaml', baseDir: repoRoot }));
    const report = await deidentifyDicomDirectory({ policy, input: path.join(work, 'bright'), output: path.join(work, 'bright-out'), secret: SECRET, jobs: 1, pixelCleaner: dicomPixelCleanerFactory });
    const file = report.files[0];
    expect(file?.status).toBe('ok');
    expect(file?.pixelScan?.status).toBe('scanned');
    expect(file?.pixels).toMatchObject({ verification: 'passed', frames: { total: 1, triaged: 1, textLike: 1, scanned: 1 } });
    expect(file?.pixels?.regions.some((r) => r.kind === 'text' && r.redacted)).toBe(true);
    const written = pixelInputOf(path.join(work, 'bright-out', 'ct-text-at-max.dcm'));
    for (const view of [viewOf(written), rangeViewOf(written)]) {
      const left = await findText(engine, view, undefined);
      expect(left.filter((f) => f.class === 'phi')).toEqual([]);
    }
    // no glyph pixel is left at the maximum stored value
    const { frames, layout } = decodeDicomFrames(written, syntaxInfo(written.transferSyntaxUID)!);
    let left = 0;
    for (let i = 0; i < glyphMask.length; i++) if (glyphMask[i] && readSample(frames[0], layout, i, 0) === textValue) left++;
    expect(left).toBe(0);
  }, 180_000);

  it('is cleaned under scan: always too: the full pipeline reads the stored-range view as well', async () => {
    const policy = unwrap(parsePolicy('name: always\nversion: 1\ndicom: { profile: basic }\npixels: { burnedInText: { scan: always } }\n', { file: 'p.yaml', baseDir: repoRoot }));
    const report = await deidentifyDicomDirectory({ policy, input: path.join(work, 'bright'), output: path.join(work, 'bright-always'), secret: SECRET, jobs: 1, pixelCleaner: dicomPixelCleanerFactory });
    expect(report.files[0]?.pixels).toMatchObject({ verification: 'passed', frames: { total: 1, scanned: 1 } });
    const written = pixelInputOf(path.join(work, 'bright-always', 'ct-text-at-max.dcm'));
    const { frames, layout } = decodeDicomFrames(written, syntaxInfo(written.transferSyntaxUID)!);
    let left = 0;
    for (let i = 0; i < glyphMask.length; i++) if (glyphMask[i] && readSample(frames[0], layout, i, 0) === textValue) left++;
    expect(left).toBe(0);
  }, 180_000);
});
