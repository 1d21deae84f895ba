/** In-memory DICOM data set as Veil's codec reads and writes it. */

/**
 * One data element. Values stay as raw bytes in the byte order of the data set, so that
 * elements Veil does not change are written back bit-exactly.
 */
export interface DicomElement {
  /** (group << 16 | element), unsigned. */
  tag: number;
  vr: string;
  /** Raw value bytes (not for sequences or verbatim elements). */
  value?: Uint8Array;
  /** Items of a sequence (SQ, or UN that held a sequence). */
  items?: DicomDataset[];
  /** The whole encoded element (header and value), copied verbatim on write: pixel data. */
  verbatim?: Uint8Array;
  /** Pixel data stored as encapsulated fragments. */
  encapsulated?: boolean;
}

export type DicomDataset = DicomElement[];

export interface TransferSyntax {
  uid: string;
  explicit: boolean;
  littleEndian: boolean;
  deflated: boolean;
  encapsulated: boolean;
}

export interface DicomFile {
  /** The file meta information (group 0002), always explicit VR little endian. */
  meta: DicomDataset;
  dataset: DicomDataset;
  transferSyntax: TransferSyntax;
  /** Problems that did not stop reading (damaged prefix, missing meta header…), for the report. */
  warnings: string[];
}

export const TS_IMPLICIT_LE = '1.2.840.10008.1.2';
export const TS_EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const TS_DEFLATED = '1.2.840.10008.1.2.1.99';
export const TS_EXPLICIT_BE = '1.2.840.10008.1.2.2';

export function transferSyntaxOf(uid: string): TransferSyntax {
  switch (uid) {
    case TS_IMPLICIT_LE:
      return { uid, explicit: false, littleEndian: true, deflated: false, encapsulated: false };
    case TS_EXPLICIT_LE:
      return { uid, explicit: true, littleEndian: true, deflated: false, encapsulated: false };
    case TS_DEFLATED:
      return { uid, explicit: true, littleEndian: true, deflated: true, encapsulated: false };
    case TS_EXPLICIT_BE:
      return { uid, explicit: true, littleEndian: false, deflated: false, encapsulated: false };
    default:
      // every other standard transfer syntax is explicit VR little endian with encapsulated pixel data
      return { uid, explicit: true, littleEndian: true, deflated: false, encapsulated: true };
  }
}

/** A file Veil cannot read; `reason` names what is wrong and where, never a value. */
export class DicomDamagedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DicomDamagedError';
  }
}

/** The input is not DICOM at all (listed and skipped). */
export class NotDicomError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'NotDicomError';
  }
}

export const TAG_ITEM = 0xfffee000;
export const TAG_ITEM_END = 0xfffee00d;
export const TAG_SEQUENCE_END = 0xfffee0dd;
export const TAG_PIXEL_DATA = 0x7fe00010;
export const TAG_FLOAT_PIXEL_DATA = 0x7fe00008;
export const TAG_DOUBLE_PIXEL_DATA = 0x7fe00009;

/** VRs whose explicit encoding has a 4-byte length. */
export const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

export const KNOWN_VRS = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW',
  'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
]);
