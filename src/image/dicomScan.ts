import type { DicomPixelInput } from '../dicom/pixelCleaner.js';
import type { PixelsPolicy } from '../policy/sections/pixels.js';

/**
 * `scan: auto` decides per file: BurnedInAnnotation YES, or an image type where burned-in
 * text is common (ultrasound, secondary capture, angiography, radiographs, endoscopy and
 * other visible-light photos), is scanned; other images are left as stored. Encapsulated
 * documents cannot be inspected and are rejected.
 */
const RISKY_MODALITIES = new Set(['US', 'IVUS', 'OT', 'XA', 'RF', 'DX', 'CR', 'MG', 'IO', 'PX', 'ES', 'XC', 'GM', 'SM', 'OP', 'DOC', 'SC']);

const RISKY_SOP_PREFIXES = [
  '1.2.840.10008.5.1.4.1.1.7', // secondary capture family
  '1.2.840.10008.5.1.4.1.1.6.', // ultrasound
  '1.2.840.10008.5.1.4.1.1.3.1', // ultrasound multi-frame (retired)
  '1.2.840.10008.5.1.4.1.1.12.', // X-ray angiography / fluoroscopy
  '1.2.840.10008.5.1.4.1.1.1.', // DX, MG, IO
  '1.2.840.10008.5.1.4.1.1.77.1', // visible light (endoscopy, photos, microscopy)
];

const DOCUMENT_PREFIX = '1.2.840.10008.5.1.4.1.1.104.';

export type ScanDecision = { scan: true; reason: string } | { scan: false; reason: string; reject?: boolean };

export function decideScan(input: DicomPixelInput, policy: PixelsPolicy): ScanDecision {
  const sop = input.sopClassUID ?? '';
  if (sop.startsWith(DOCUMENT_PREFIX)) {
    if (policy.burnedInText.encapsulatedDocuments === 'keep') return { scan: false, reason: 'encapsulated document kept as stored (policy: encapsulatedDocuments: keep)' };
    return { scan: false, reject: true, reason: 'encapsulated document: its content cannot be inspected for burned-in text' };
  }
  const mode = policy.burnedInText.scan;
  if (mode === 'never') return policy.faces.detect ? { scan: true, reason: 'faces' } : { scan: false, reason: 'scan: never' };
  if (mode === 'always') return { scan: true, reason: 'scan: always' };
  if ((input.burnedInAnnotation ?? '').toUpperCase() === 'YES') return { scan: true, reason: 'BurnedInAnnotation YES' };
  const modality = (input.modality ?? '').toUpperCase();
  if (RISKY_MODALITIES.has(modality)) return { scan: true, reason: `modality ${modality}` };
  const computedRadiography = sop === '1.2.840.10008.5.1.4.1.1.1';
  if (computedRadiography || RISKY_SOP_PREFIXES.some((prefix) => sop.startsWith(prefix))) return { scan: true, reason: 'SOP class with common burned-in text' };
  if (policy.faces.detect) return { scan: true, reason: 'faces' };
  return { scan: false, reason: 'scan: auto (no BurnedInAnnotation YES, image type rarely has burned-in text)' };
}
