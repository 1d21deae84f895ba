import type { PixelsPolicy } from '../policy/sections/pixels.js';

/**
 * The seam between header de-identification (src/dicom) and pixel cleaning (src/image).
 * src/dicom reads a file, hands the pixel module everything it needs, and writes back what
 * it returns; src/image never parses or writes DICOM itself.
 */
export interface DicomPixelInput {
  /** Relative path of the input, for reports only. */
  file: string;
  transferSyntaxUID: string;
  /** Value of (7FE0,0010) exactly as stored: native bytes, or the encapsulated item stream (BOT + fragments, without the sequence delimiter). */
  pixelData: Uint8Array;
  encapsulated: boolean;
  /** True when `pixelData` is big endian (transfer syntax 1.2.840.10008.1.2.2). */
  bigEndian: boolean;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  photometricInterpretation: string;
  planarConfiguration?: number;
  numberOfFrames: number;
  sopClassUID?: string;
  modality?: string;
  burnedInAnnotation?: string;
  windowCenter?: number[];
  windowWidth?: number[];
  rescaleSlope?: number;
  rescaleIntercept?: number;
  /** PALETTE COLOR lookup tables, when present: [descriptor (3 numbers), data]. */
  palette?: { red: [number[], Uint16Array]; green: [number[], Uint16Array]; blue: [number[], Uint16Array] };
  /**
   * Identifying values collected from the ORIGINAL header (names, IDs, dates, institution…),
   * for recognizing them in burned-in text. Never logged, never reported.
   */
  identifyingValues: string[];
}

export interface PixelRegionRecord {
  frame: number;
  box: { x: number; y: number; width: number; height: number };
  kind: 'text' | 'face';
  /** text: phi | safe | unreadable; face: face */
  class: string;
  confidence: number;
  redacted: boolean;
}

/**
 * What happened to a file's pixels, for burned-in text: `scanned` (the full pipeline ran on
 * at least one frame), `triaged-clean` (`scan: auto` triaged every frame and found no
 * text-like region), `not-scanned` (`scan: never`, an encapsulated document kept by policy…:
 * `reason` says why).
 */
export type PixelScanStatus = 'scanned' | 'triaged-clean' | 'not-scanned';

/** Frame counts of one file: how many were triaged, how many triage escalated, how many went through the full pipeline. */
export interface PixelFrameCounts {
  total: number;
  triaged: number;
  textLike: number;
  scanned: number;
}

export interface DicomPixelReport {
  /** True when pixels went through the full text pipeline or face detection. */
  scanned: boolean;
  /** Absent in reports of cleaners that predate it: then `scanned` decides (see pixelStatusOf). */
  status?: PixelScanStatus;
  frames?: PixelFrameCounts;
  reason: string;
  regions: PixelRegionRecord[];
  /** 'kept' (untouched bytes), 'same' (rewritten in the same transfer syntax), or the UID it was transcoded to. */
  transferSyntax: 'kept' | 'same' | string;
  verification: 'passed' | 'failed' | 'not-run';
  ms: number;
}

export type DicomPixelResult =
  | { action: 'unchanged'; report: DicomPixelReport }
  | {
      action: 'replaced';
      /** New (7FE0,0010) value: native little-endian bytes unless `encapsulated`. */
      pixelData: Uint8Array;
      encapsulated: boolean;
      transferSyntaxUID: string;
      /** Attributes that change with the pixels (e.g. PhotometricInterpretation after YBR→RGB). */
      updates: { photometricInterpretation?: string; planarConfiguration?: number; bitsAllocated?: number };
      report: DicomPixelReport;
    }
  | { action: 'rejected'; reason: string; report: DicomPixelReport };

export interface PixelCleaner {
  clean(input: DicomPixelInput, policy: PixelsPolicy): Promise<DicomPixelResult>;
  close(): Promise<void>;
}
