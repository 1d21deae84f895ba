/**
 * Issue 14, must show: a CT slice with a name and a birth date rendered into its pixels and
 * no BurnedInAnnotation (made here from the text-free 693_UNCR.dcm) is cleaned under
 * `scan: auto`. Before, auto skipped every CT without BurnedInAnnotation YES.
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
import { syntaxInfo } from '../../src/dicom/pixels/transferSyntax.js';
import { frameView } from '../../src/dicom/pixels/view.js';
import { decodeDicomFrames, dicomPixelCleanerFactory } from '../../src/image/dicomCleaner.js';
import { createTextEngine, findText, type TextEngine } from '../../src/image/textPipeline.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { repoRoot, SECRET, sharedDicom } from './helpers.js';

const SIDE = 512;
/** Stored value of the glyphs: HU 976, white in the slice's own window (40/100). */
const GLYPH = 2000;

/** A 512² mask (1 = glyph) of two lines a scanner prints top left: a name and a birth date. */
async function textMask(): Promise<Uint8Array> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIDE}" height="${SIDE}"><g font-family="DejaVu Sans Mono" font-size="15" fill="#fff">
<text x="8" y="22">SMITH, JOHN</text><text x="8" y="44">DOB 14/03/1957</text></g></svg>`;
  const { data } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const mask = new Uint8Array(SIDE * SIDE);
  for (let i = 0; i < mask.length; i++) mask[i] = data[i * 4 + 3] > 127 ? 1 : 0;
  return mask;
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
  engine = await createTextEngine(1);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

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
