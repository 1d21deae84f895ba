import type { PixelsPolicy } from '../policy/sections/pixels.js';
import type { DicomPixelInput, DicomPixelReport, DicomPixelResult, PixelCleaner } from './pixelCleaner.js';
import { LONG_VRS, TAG_PIXEL_DATA, TS_EXPLICIT_LE, transferSyntaxOf, type DicomDataset, type DicomElement, type TransferSyntax } from './codec/types.js';
import { encodeText, textValue, uintValue } from './codec/values.js';
import { setElement } from './marking.js';

/** One pixel cleaner per worker; the pixel module (src/image) provides it. */
export type PixelCleanerFactory = (() => Promise<PixelCleaner>) & {
  /**
   * Module URL and export name of this factory, so that worker threads can build their own
   * cleaner (functions cannot cross threads). Without it the run stays on the main thread.
   */
  moduleUrl?: string;
  exportName?: string;
};

/**
 * Whether the pixel cleaner sees the files: always when the policy has a `pixels:` section,
 * `scan: never` included, so that each file's report says why its pixels were not examined.
 */
export function wantsPixelScan(pixels: PixelsPolicy | undefined): boolean {
  return pixels !== undefined;
}

/** The value bytes of a verbatim pixel element: header stripped, and the sequence delimiter for encapsulated data. */
export function pixelValueOf(element: DicomElement, ts: TransferSyntax): Uint8Array {
  const raw = element.verbatim ?? new Uint8Array(0);
  const header = ts.explicit ? (LONG_VRS.has(element.vr) ? 12 : 8) : 8;
  return raw.subarray(header, element.encapsulated ? raw.length - 8 : raw.length);
}

function numbers(dataset: DicomDataset, tag: number): number[] | undefined {
  const element = dataset.find((e) => e.tag === tag);
  if (!element?.value) return undefined;
  const values = textValue(element.value).split('\\').map(Number).filter(Number.isFinite);
  return values.length > 0 ? values : undefined;
}

function lut(dataset: DicomDataset, descriptorTag: number, dataTag: number, littleEndian: boolean): [number[], Uint16Array] | undefined {
  const descriptor = dataset.find((e) => e.tag === descriptorTag)?.value;
  const data = dataset.find((e) => e.tag === dataTag)?.value;
  if (!descriptor || !data || descriptor.length < 6) return undefined;
  const dv = new DataView(descriptor.buffer, descriptor.byteOffset, descriptor.byteLength);
  const values = new Uint16Array(Math.floor(data.length / 2));
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getUint16(i * 2, littleEndian);
  return [[dv.getUint16(0, littleEndian), dv.getUint16(2, littleEndian), dv.getUint16(4, littleEndian)], values];
}

/** Builds the pixel module's input from the ORIGINAL data set; undefined when there is no (7FE0,0010). */
export function buildPixelInput(file: string, dataset: DicomDataset, ts: TransferSyntax, identifyingValues: string[]): DicomPixelInput | undefined {
  const pixel = dataset.find((e) => e.tag === TAG_PIXEL_DATA);
  if (!pixel?.verbatim) return undefined;
  const le = ts.littleEndian;
  const num = (tag: number): number | undefined => {
    const e = dataset.find((x) => x.tag === tag);
    return e ? uintValue(e.value, e.vr, le) : undefined;
  };
  const text = (tag: number): string | undefined => {
    const e = dataset.find((x) => x.tag === tag);
    return e?.value ? textValue(e.value).trim() : undefined;
  };
  const red = lut(dataset, 0x00281101, 0x00281201, le);
  const green = lut(dataset, 0x00281102, 0x00281202, le);
  const blue = lut(dataset, 0x00281103, 0x00281203, le);
  return {
    file,
    transferSyntaxUID: ts.uid,
    pixelData: pixelValueOf(pixel, ts),
    encapsulated: pixel.encapsulated === true,
    bigEndian: !le,
    rows: num(0x00280010) ?? 0,
    columns: num(0x00280011) ?? 0,
    samplesPerPixel: num(0x00280002) ?? 1,
    bitsAllocated: num(0x00280100) ?? 16,
    bitsStored: num(0x00280101) ?? num(0x00280100) ?? 16,
    highBit: num(0x00280102) ?? (num(0x00280101) ?? 16) - 1,
    pixelRepresentation: num(0x00280103) ?? 0,
    photometricInterpretation: text(0x00280004) ?? 'MONOCHROME2',
    planarConfiguration: num(0x00280006),
    numberOfFrames: num(0x00280008) ?? 1,
    sopClassUID: text(0x00080016),
    modality: text(0x00080060),
    burnedInAnnotation: text(0x00280301),
    windowCenter: numbers(dataset, 0x00281050),
    windowWidth: numbers(dataset, 0x00281051),
    rescaleSlope: numbers(dataset, 0x00281053)?.[0],
    rescaleIntercept: numbers(dataset, 0x00281052)?.[0],
    palette: red && green && blue ? { red, green, blue } : undefined,
    identifyingValues,
  };
}

function us(value: number, littleEndian: boolean): Uint8Array {
  const b = Buffer.alloc(2);
  if (littleEndian) b.writeUInt16LE(value, 0);
  else b.writeUInt16BE(value, 0);
  return b;
}

/** Encodes a new (7FE0,0010) element (little-endian bytes) for a little-endian transfer syntax, explicit or implicit VR. */
function encodePixelElement(pixelData: Uint8Array, encapsulated: boolean, explicit: boolean): DicomElement {
  const vr = encapsulated ? 'OB' : 'OW';
  const header = Buffer.alloc(explicit ? 12 : 8);
  header.writeUInt16LE(0x7fe0, 0);
  header.writeUInt16LE(0x0010, 2);
  if (explicit) header.write(vr, 4, 'latin1');
  const lengthAt = explicit ? 8 : 4;
  if (encapsulated) {
    header.writeUInt32LE(0xffffffff, lengthAt);
    const delimiter = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    return { tag: TAG_PIXEL_DATA, vr, encapsulated: true, verbatim: Buffer.concat([header, pixelData, delimiter]) };
  }
  const padded = pixelData.length % 2 === 1 ? Buffer.concat([pixelData, Buffer.alloc(1)]) : pixelData;
  header.writeUInt32LE(padded.length, lengthAt);
  return { tag: TAG_PIXEL_DATA, vr, encapsulated: false, verbatim: Buffer.concat([header, padded]) };
}

export interface PixelOutcome {
  status: 'unchanged' | 'replaced' | 'rejected';
  reason?: string;
  report?: DicomPixelReport;
  /** The transfer syntax the output is written in. */
  transferSyntaxUid: string;
}

/**
 * Writes a cleaner's result into the de-identified data set. A replaced image is written in
 * the transfer syntax the cleaner returns (explicit VR little endian, or encapsulated).
 */
export function applyPixelResult(dataset: DicomDataset, result: DicomPixelResult, ts: TransferSyntax): PixelOutcome {
  if (result.action === 'unchanged') return { status: 'unchanged', report: result.report, transferSyntaxUid: ts.uid };
  if (result.action === 'rejected') return { status: 'rejected', reason: result.reason, report: result.report, transferSyntaxUid: ts.uid };
  // new pixels are little endian: a big-endian answer is written as explicit VR little endian
  const asked = transferSyntaxOf(result.transferSyntaxUID || TS_EXPLICIT_LE);
  const target = asked.littleEndian ? asked : transferSyntaxOf(TS_EXPLICIT_LE);
  // attribute updates are written in the data set's current byte order; file.ts swaps the whole
  // data set afterwards when the output byte order differs
  const le = ts.littleEndian;
  setElement(dataset, encodePixelElement(result.pixelData, result.encapsulated, target.explicit));
  if (result.updates.photometricInterpretation) setElement(dataset, { tag: 0x00280004, vr: 'CS', value: encodeText(result.updates.photometricInterpretation) });
  if (result.updates.planarConfiguration !== undefined) setElement(dataset, { tag: 0x00280006, vr: 'US', value: us(result.updates.planarConfiguration, le) });
  if (result.updates.bitsAllocated !== undefined) setElement(dataset, { tag: 0x00280100, vr: 'US', value: us(result.updates.bitsAllocated, le) });
  setElement(dataset, { tag: 0x00280301, vr: 'CS', value: encodeText('NO') });
  return { status: 'replaced', report: result.report, transferSyntaxUid: target.uid };
}
