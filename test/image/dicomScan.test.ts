import { describe, expect, it } from 'vitest';
import { decideScan } from '../../src/image/dicomScan.js';
import type { DicomPixelInput } from '../../src/dicom/pixelCleaner.js';
import { pixelsSchema } from '../../src/policy/sections/pixels.js';

const base: DicomPixelInput = {
  file: 'x.dcm',
  transferSyntaxUID: '1.2.840.10008.1.2.1',
  pixelData: new Uint8Array(0),
  encapsulated: false,
  bigEndian: false,
  rows: 1,
  columns: 1,
  samplesPerPixel: 1,
  bitsAllocated: 8,
  bitsStored: 8,
  highBit: 7,
  pixelRepresentation: 0,
  photometricInterpretation: 'MONOCHROME2',
  numberOfFrames: 1,
  identifyingValues: [],
};
const auto = pixelsSchema.parse({});

describe('scan: auto', () => {
  it('scans BurnedInAnnotation YES, risky modalities and SOP classes; skips CT/MR otherwise', () => {
    expect(decideScan({ ...base, modality: 'CT', burnedInAnnotation: 'YES' }, auto).scan).toBe(true);
    expect(decideScan({ ...base, modality: 'US' }, auto).scan).toBe(true);
    expect(decideScan({ ...base, sopClassUID: '1.2.840.10008.5.1.4.1.1.7' }, auto).scan).toBe(true);
    expect(decideScan({ ...base, sopClassUID: '1.2.840.10008.5.1.4.1.1.1' }, auto).scan).toBe(true);
    expect(decideScan({ ...base, modality: 'CT', sopClassUID: '1.2.840.10008.5.1.4.1.1.2' }, auto).scan).toBe(false);
    expect(decideScan({ ...base, modality: 'PT', sopClassUID: '1.2.840.10008.5.1.4.1.1.128' }, auto).scan).toBe(false);
  });

  it('follows always/never and rejects encapsulated documents unless kept', () => {
    const always = pixelsSchema.parse({ burnedInText: { scan: 'always' } });
    const never = pixelsSchema.parse({ burnedInText: { scan: 'never' } });
    expect(decideScan({ ...base, modality: 'MR' }, always).scan).toBe(true);
    expect(decideScan({ ...base, modality: 'US' }, never).scan).toBe(false);
    const pdf = { ...base, sopClassUID: '1.2.840.10008.5.1.4.1.1.104.1' };
    expect(decideScan(pdf, always)).toMatchObject({ scan: false, reject: true });
    const keep = pixelsSchema.parse({ burnedInText: { encapsulatedDocuments: 'keep' } });
    expect(decideScan(pdf, keep)).toMatchObject({ scan: false });
    expect(decideScan(pdf, keep)).not.toHaveProperty('reject');
  });
});
