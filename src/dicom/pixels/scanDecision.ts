// the report's own words (a light module: deciding not to scan never loads the models)
import { NEVER_REASON } from '../../report/notExamined.js';
import type { PixelsPolicy } from '../../policy/sections/pixels.js';
import type { DicomPixelInput } from '../pixelCleaner.js';

/**
 * How much effort burned-in text gets, per file. `scan: auto` never decides "nothing":
 * header flags (BurnedInAnnotation YES, an image type where burned-in text is common:
 * ultrasound, secondary capture, angiography, radiographs, endoscopy and other
 * visible-light photos) send every frame straight to the full pipeline; every other image
 * is triaged (the text detector alone on each frame, see triage.ts and src/image/triage.ts) and the frames where
 * triage sees text-like regions go through the full pipeline. Only `scan: never` (the
 * policy trusts the data's provenance) leaves pixels unexamined. Encapsulated documents
 * cannot be inspected and are rejected unless the policy keeps them.
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

/** What the report says when `scan: never` left the pixels alone (shared with plain images). */
export { NEVER_REASON };

export const TRIAGE_REASON = 'scan: auto — no header flag calls for a full scan, so every frame was triaged with the text detector; frames with text-like regions were scanned in full';

/**
 * full: every frame through detect → recognize → classify → redact → verify;
 * triage: the detector alone on each frame first (a text-like region escalates that frame to full);
 * none: pixels not examined for text (`reject`: the file cannot be written).
 */
export type ScanDecision = { text: 'full'; reason: string } | { text: 'triage'; reason: string } | { text: 'none'; reason: string; reject?: boolean };

export function decideScan(input: DicomPixelInput, policy: PixelsPolicy): ScanDecision {
  const mode = policy.burnedInText.scan;
  if (mode === 'never') return { text: 'none', reason: NEVER_REASON };
  const sop = input.sopClassUID ?? '';
  if (sop.startsWith(DOCUMENT_PREFIX)) {
    if (policy.burnedInText.encapsulatedDocuments === 'keep') return { text: 'none', reason: 'encapsulated document kept as stored (policy: encapsulatedDocuments: keep)' };
    return { text: 'none', reject: true, reason: 'encapsulated document: its content cannot be inspected for burned-in text' };
  }
  if (mode === 'always') return { text: 'full', reason: 'scan: always' };
  if ((input.burnedInAnnotation ?? '').toUpperCase() === 'YES') return { text: 'full', reason: 'scan: auto — BurnedInAnnotation YES' };
  const modality = (input.modality ?? '').toUpperCase();
  if (RISKY_MODALITIES.has(modality)) return { text: 'full', reason: `scan: auto — modality ${modality} often carries burned-in text` };
  const computedRadiography = sop === '1.2.840.10008.5.1.4.1.1.1';
  if (computedRadiography || RISKY_SOP_PREFIXES.some((prefix) => sop.startsWith(prefix))) return { text: 'full', reason: 'scan: auto — SOP class with common burned-in text' };
  return { text: 'triage', reason: TRIAGE_REASON };
}
