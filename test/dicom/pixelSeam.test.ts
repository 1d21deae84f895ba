import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deidentifyBytes } from '../../src/dicom/file.js';
import { readDicom } from '../../src/dicom/codec/read.js';
import { pixelValueOf } from '../../src/dicom/pixelStep.js';
import { getText } from '../../src/dicom/marking.js';
import { uintValue } from '../../src/dicom/codec/values.js';
import type { DicomPixelInput, DicomPixelResult, PixelCleaner } from '../../src/dicom/pixelCleaner.js';
import { dicomSchema } from '../../src/policy/sections/dicom.js';
import { createDicomPixelCleaner } from '../../src/dicom/pixels/cleaner.js';
import { pixelsSchema } from '../../src/policy/sections/pixels.js';
import { SECRET, sharedDicom } from './helpers.js';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * The seam to src/image: what src/dicom hands a pixel cleaner and how it writes the answer back.
 * The cleaner here is a test double that records its input and blanks the image.
 */
class BlankingCleaner implements PixelCleaner {
  inputs: DicomPixelInput[] = [];
  constructor(private readonly answer: 'replace' | 'reject') {}
  async clean(input: DicomPixelInput): Promise<DicomPixelResult> {
    this.inputs.push(input);
    const report = { scanned: true, reason: 'test', regions: [], transferSyntax: '1.2.840.10008.1.2.1', verification: 'not-run' as const, ms: 0 };
    if (this.answer === 'reject') return { action: 'rejected', reason: 'unsupported image type', report };
    const bytes = new Uint8Array(input.rows * input.columns * input.samplesPerPixel * (input.bitsAllocated / 8) * input.numberOfFrames).fill(7);
    return { action: 'replaced', pixelData: bytes, encapsulated: false, transferSyntaxUID: '1.2.840.10008.1.2.1', updates: {}, report };
  }
  async close(): Promise<void> {}
}

const settings = {
  dicom: dicomSchema.parse({ profile: 'basic', options: ['retainLongitudinalModifiedDates'] }),
  pixels: pixelsSchema.parse({ burnedInText: { scan: 'always' } }),
  secret: SECRET,
  returnOriginalIds: false,
};

describe('pixel cleaner seam', () => {
  it('hands over the stored pixel bytes and writes a replaced image in explicit VR little endian (from big endian)', async () => {
    const bytes = readFileSync(path.join(sharedDicom, 'MR_small_bigendian.dcm'));
    const original = readDicom(bytes);
    const cleaner = new BlankingCleaner('replace');
    const { result, chunks } = await deidentifyBytes(bytes, { inputPath: '', relativePath: 'mr.dcm', outputPath: 'mr.dcm' }, settings, cleaner);
    expect(result.status).toBe('ok');
    const input = cleaner.inputs[0];
    expect(input.bigEndian).toBe(true);
    expect([input.rows, input.columns, input.bitsAllocated]).toEqual([64, 64, 16]);
    const storedPixels = pixelValueOf(original.dataset.find((e) => e.tag === 0x7fe00010)!, original.transferSyntax);
    expect(Buffer.compare(Buffer.from(input.pixelData), Buffer.from(storedPixels))).toBe(0);
    expect(input.identifyingValues.length).toBeGreaterThan(3);

    const out = readDicom(Buffer.concat(chunks!));
    expect(out.transferSyntax.uid).toBe('1.2.840.10008.1.2.1');
    const rows = out.dataset.find((e) => e.tag === 0x00280010);
    expect(uintValue(rows?.value, 'US', true)).toBe(64);
    expect(getText(out.dataset, 0x00280301)).toBe('NO');
    expect(Buffer.from(pixelValueOf(out.dataset.find((e) => e.tag === 0x7fe00010)!, out.transferSyntax)).every((b) => b === 7)).toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), 'veil-seam-'));
    writeFileSync(path.join(dir, 'o.dcm'), Buffer.concat(chunks!));
    const dumped = spawnSync('dcmdump', ['-q', path.join(dir, 'o.dcm')], { encoding: 'latin1' });
    rmSync(dir, { recursive: true, force: true });
    expect(dumped.status).toBe(0);
    expect(dumped.stdout).toMatch(/\(0028,0010\) US 64/);
    expect(dumped.stdout).toMatch(/\(0008,0100\) SH \[113101\]/);
  });

  it('rejects the file when the cleaner rejects the image, and writes nothing', async () => {
    const bytes = readFileSync(path.join(sharedDicom, 'US1_UNCR.dcm'));
    const { result, chunks } = await deidentifyBytes(bytes, { inputPath: '', relativePath: 'us.dcm', outputPath: 'us.dcm' }, settings, new BlankingCleaner('reject'));
    expect(result.status).toBe('rejected');
    expect(result.reason).toMatch(/unsupported image type/);
    expect(chunks).toBeUndefined();
  });

  it('under scan: never, the pixel cleaner leaves the pixels as stored and its record says why, in words', async () => {
    const cleaner = await createDicomPixelCleaner();
    const never = { ...settings, pixels: pixelsSchema.parse({ burnedInText: { scan: 'never' } }) };
    const bytes = readFileSync(path.join(sharedDicom, 'CT_small.dcm'));
    const { result, chunks } = await deidentifyBytes(bytes, { inputPath: '', relativePath: 'ct.dcm', outputPath: 'ct.dcm' }, never, cleaner);
    await cleaner.close();
    expect(result.status).toBe('ok');
    expect(result.pixels).toMatchObject({ status: 'unchanged', report: { scanned: false, status: 'not-scanned' } });
    expect(result.pixels?.report?.reason).toMatch(/not examined.*trusts the provenance/);
    const original = readDicom(bytes).dataset.find((e) => e.tag === 0x7fe00010)?.verbatim as Uint8Array;
    expect(Buffer.concat(chunks!).indexOf(Buffer.from(original))).toBeGreaterThan(0);
  });
});

describe('residual-PHI check of a deflated output', () => {
  it('searches the inflated data set, so a value left in a deflated file is found', async () => {
    const bytes = readFileSync(path.join(sharedDicom, 'image_dfl.dcm'));
    const original = readDicom(bytes);
    const uid = getText(original.dataset, 0x00080018) ?? '';
    expect(uid.length).toBeGreaterThan(10);
    const clean = await deidentifyBytes(bytes, { inputPath: '', relativePath: 'dfl.dcm', outputPath: 'dfl.dcm' }, { ...settings, pixels: undefined });
    expect(clean.result.status).toBe('ok');
    // a policy that copies the original instance UID into another element: the check must catch it in the deflated output
    const leaky = { ...settings, pixels: undefined, dicom: dicomSchema.parse({ overrides: [{ tag: 'Manufacturer', action: 'replace', value: uid }] }) };
    const leak = await deidentifyBytes(bytes, { inputPath: '', relativePath: 'dfl.dcm', outputPath: 'dfl.dcm' }, leaky);
    expect(leak.result.status).toBe('rejected');
    expect(leak.result.reason).toMatch(/residual PHI: values of .*SOPInstanceUID/);
    expect(leak.chunks).toBeUndefined();
  });
});

describe('a cleaner answering in implicit VR little endian', () => {
  it('writes the new pixel element with an implicit header, so the file stays readable', async () => {
    const bytes = readFileSync(path.join(sharedDicom, 'MR_small_implicit.dcm'));
    const cleaner: PixelCleaner = {
      async clean(input) {
        const report = { scanned: true, reason: 'test', regions: [], transferSyntax: 'same', verification: 'not-run' as const, ms: 0 };
        return { action: 'replaced', pixelData: new Uint8Array(input.rows * input.columns * 2).fill(3), encapsulated: false, transferSyntaxUID: '1.2.840.10008.1.2', updates: { planarConfiguration: 0 }, report };
      },
      async close() {},
    };
    const { result, chunks } = await deidentifyBytes(bytes, { inputPath: '', relativePath: 'i.dcm', outputPath: 'i.dcm' }, settings, cleaner);
    expect(result.status).toBe('ok');
    expect(result.transferSyntax).toBe('1.2.840.10008.1.2');
    const dir = mkdtempSync(path.join(tmpdir(), 'veil-seam-'));
    writeFileSync(path.join(dir, 'o.dcm'), Buffer.concat(chunks!));
    const dumped = spawnSync('dcmdump', ['-q', path.join(dir, 'o.dcm')], { encoding: 'latin1' });
    rmSync(dir, { recursive: true, force: true });
    expect(dumped.status).toBe(0);
    expect(dumped.stdout).toMatch(/\(0028,0006\) US 0/);
    expect(dumped.stdout).toMatch(/\(7fe0,0010\) OW 0303\\0303/);
  });

  it('writes attribute updates of a big-endian input correctly after the switch to little endian', async () => {
    const bytes = readFileSync(path.join(sharedDicom, 'MR_small_bigendian.dcm'));
    const cleaner: PixelCleaner = {
      async clean(input) {
        const report = { scanned: true, reason: 'test', regions: [], transferSyntax: 'same', verification: 'not-run' as const, ms: 0 };
        return { action: 'replaced', pixelData: new Uint8Array(input.rows * input.columns * 2), encapsulated: false, transferSyntaxUID: '1.2.840.10008.1.2.1', updates: { bitsAllocated: 16 }, report };
      },
      async close() {},
    };
    const { chunks } = await deidentifyBytes(bytes, { inputPath: '', relativePath: 'b.dcm', outputPath: 'b.dcm' }, settings, cleaner);
    const out = readDicom(Buffer.concat(chunks!));
    expect(uintValue(out.dataset.find((e) => e.tag === 0x00280100)?.value, 'US', true)).toBe(16);
  });
});
