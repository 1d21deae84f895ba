import type { DicomOption } from '../policy/sections/dicom.js';
import { encodeText, textValue } from './codec/values.js';
import type { DicomDataset, DicomElement } from './codec/types.js';

/** Inserts or replaces an element, keeping the data set in ascending tag order. */
export function setElement(dataset: DicomDataset, element: DicomElement): void {
  const index = dataset.findIndex((e) => e.tag >= element.tag);
  if (index < 0) dataset.push(element);
  else if (dataset[index].tag === element.tag) dataset[index] = element;
  else dataset.splice(index, 0, element);
}

export function getText(dataset: DicomDataset, tag: number): string | undefined {
  const element = dataset.find((e) => e.tag === tag);
  return element?.value ? textValue(element.value).trim() : undefined;
}

function text(tag: number, vr: string, value: string): DicomElement {
  return { tag, vr, value: encodeText(value) };
}

/** CID 7050 (De-identification Method) codes of the profile and each option. */
export const CID_7050: Readonly<Record<DicomOption | 'basic' | 'cleanPixelData', [string, string]>> = {
  basic: ['113100', 'Basic Application Confidentiality Profile'],
  cleanPixelData: ['113101', 'Clean Pixel Data Option'],
  cleanGraphics: ['113103', 'Clean Graphics Option'],
  cleanStructuredContent: ['113104', 'Clean Structured Content Option'],
  cleanDescriptors: ['113105', 'Clean Descriptors Option'],
  retainLongitudinalFullDates: ['113106', 'Retain Longitudinal Temporal Information Full Dates Option'],
  retainLongitudinalModifiedDates: ['113107', 'Retain Longitudinal Temporal Information Modified Dates Option'],
  retainPatientCharacteristics: ['113108', 'Retain Patient Characteristics Option'],
  retainDeviceIdentity: ['113109', 'Retain Device Identity Option'],
  retainUIDs: ['113110', 'Retain UIDs Option'],
  retainSafePrivate: ['113111', 'Retain Safe Private Option'],
  retainInstitutionIdentity: ['113112', 'Retain Institution Identity Option'],
};

export interface Marking {
  options: readonly DicomOption[];
  pixelsCleaned: boolean;
}

/** The codes written to DeidentificationMethodCodeSequence, in CID 7050 order. */
export function methodCodes(marking: Marking): [string, string][] {
  const keys: (keyof typeof CID_7050)[] = ['basic'];
  if (marking.pixelsCleaned) keys.push('cleanPixelData');
  for (const option of marking.options) if (!keys.includes(option)) keys.push(option);
  // codes are six digits: compared as plain strings (localeCompare cost each thread ≈ 10 ms to set up its collator)
  return keys.map((k) => CID_7050[k]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Marks the data set as de-identified (PS3.15 E.1.1 and X.2): PatientIdentityRemoved YES,
 * DeidentificationMethod text, DeidentificationMethodCodeSequence, and
 * LongitudinalTemporalInformationModified.
 */
export function markDeidentified(dataset: DicomDataset, marking: Marking): void {
  for (const element of markingElements(marking)) setElement(dataset, element);
}

/** The marking elements of a run's options, built once (they are the same for every file and never changed in place). */
const markingMemo = new Map<string, readonly DicomElement[]>();

function markingElements(marking: Marking): readonly DicomElement[] {
  const id = `${marking.pixelsCleaned ? 1 : 0}|${marking.options.join(',')}`;
  let elements = markingMemo.get(id);
  if (!elements) {
    elements = buildMarking(marking);
    if (markingMemo.size > 64) markingMemo.clear();
    markingMemo.set(id, elements);
  }
  return elements;
}

function buildMarking(marking: Marking): DicomElement[] {
  const codes = methodCodes(marking);
  let temporal = 'REMOVED';
  if (marking.options.includes('retainLongitudinalModifiedDates')) temporal = 'MODIFIED';
  else if (marking.options.includes('retainLongitudinalFullDates')) temporal = 'UNMODIFIED';
  return [
    text(0x00120062, 'CS', 'YES'),
    // LO values hold at most 64 characters: one value per code meaning
    text(0x00120063, 'LO', ['Veil PS3.15 E.1-1 2024b', ...codes.slice(1).map(([, meaning]) => meaning.slice(0, 64))].join('\\')),
    {
      tag: 0x00120064,
      vr: 'SQ',
      items: codes.map(([value, meaning]) => [text(0x00080100, 'SH', value), text(0x00080102, 'SH', 'DCM'), text(0x00080104, 'LO', meaning)]),
    },
    text(0x00280303, 'CS', temporal),
  ];
}

/** Veil's implementation class UID (a fixed 2.25 UID) and version name for the meta header. */
export const IMPLEMENTATION_CLASS_UID = '2.25.161513386215425309916428306212478462337';
export const IMPLEMENTATION_VERSION = 'VEIL_0_1';

/** A new file meta group for the de-identified data set. */
export function buildMeta(dataset: DicomDataset, originalMeta: DicomDataset, transferSyntaxUid: string, remap: (uid: string) => string): DicomDataset {
  const sopClass = getText(dataset, 0x00080016) ?? getText(originalMeta, 0x00020002) ?? '';
  // without SOPInstanceUID in the data set, the meta header's own UID is remapped
  const sopInstance = getText(dataset, 0x00080018) ?? remap(getText(originalMeta, 0x00020003) ?? '');
  const meta: DicomDataset = [
    { tag: 0x00020001, vr: 'OB', value: Uint8Array.of(0, 1) },
    { tag: 0x00020002, vr: 'UI', value: encodeText(sopClass) },
    { tag: 0x00020003, vr: 'UI', value: encodeText(sopInstance) },
    { tag: 0x00020010, vr: 'UI', value: encodeText(transferSyntaxUid) },
    { tag: 0x00020012, vr: 'UI', value: encodeText(IMPLEMENTATION_CLASS_UID) },
    { tag: 0x00020013, vr: 'SH', value: encodeText(IMPLEMENTATION_VERSION) },
  ];
  // an input without SOP class or instance UID gets none invented
  return meta.filter((e) => e.value === undefined || e.value.length > 0);
}
