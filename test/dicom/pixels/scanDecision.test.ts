import { describe, expect, it } from 'vitest';
import { decideScan } from '../../../src/dicom/pixels/scanDecision.js';
import type { DicomPixelInput } from '../../../src/dicom/pixelCleaner.js';
import { pixelsSchema } from '../../../src/policy/sections/pixels.js';

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
  it('sends flagged images straight to the full pipeline and triages every other image: never nothing', () => {
    expect(decideScan({ ...base, modality: 'CT', burnedInAnnotation: 'YES' }, auto).text).toBe('full');
    expect(decideScan({ ...base, modality: 'US' }, auto).text).toBe('full');
    expect(decideScan({ ...base, sopClassUID: '1.2.840.10008.5.1.4.1.1.7' }, auto).text).toBe('full');
    expect(decideScan({ ...base, sopClassUID: '1.2.840.10008.5.1.4.1.1.1' }, auto).text).toBe('full');
    // a CT or PET without BurnedInAnnotation was skipped before (presidio_2 kept its name): now triaged
    expect(decideScan({ ...base, modality: 'CT', sopClassUID: '1.2.840.10008.5.1.4.1.1.2' }, auto).text).toBe('triage');
    expect(decideScan({ ...base, modality: 'PT', sopClassUID: '1.2.840.10008.5.1.4.1.1.128' }, auto).text).toBe('triage');
    // BurnedInAnnotation NO does not lower the effort to nothing
    expect(decideScan({ ...base, modality: 'MR', burnedInAnnotation: 'NO' }, auto).text).toBe('triage');
  });

  it('follows always/never, says in words why never skips, and rejects encapsulated documents unless kept', () => {
    const always = pixelsSchema.parse({ burnedInText: { scan: 'always' } });
    const never = pixelsSchema.parse({ burnedInText: { scan: 'never' } });
    expect(decideScan({ ...base, modality: 'MR' }, always).text).toBe('full');
    const skipped = decideScan({ ...base, modality: 'US' }, never);
    expect(skipped.text).toBe('none');
    expect(skipped.reason).toMatch(/not examined.*trusts the provenance/);
    const pdf = { ...base, sopClassUID: '1.2.840.10008.5.1.4.1.1.104.1' };
    expect(decideScan(pdf, always)).toMatchObject({ text: 'none', reject: true });
    const keep = pixelsSchema.parse({ burnedInText: { encapsulatedDocuments: 'keep' } });
    expect(decideScan(pdf, keep)).toMatchObject({ text: 'none' });
    expect(decideScan(pdf, keep)).not.toHaveProperty('reject');
  });
});
