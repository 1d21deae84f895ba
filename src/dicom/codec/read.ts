import { inflateRawSync } from 'node:zlib';
import { formatTag, lookupTag } from '../../standard/dicomDictionary.js';
import {
  DicomDamagedError,
  KNOWN_VRS,
  LONG_VRS,
  NotDicomError,
  TAG_DOUBLE_PIXEL_DATA,
  TAG_FLOAT_PIXEL_DATA,
  TAG_ITEM,
  TAG_ITEM_END,
  TAG_PIXEL_DATA,
  TAG_SEQUENCE_END,
  TS_EXPLICIT_LE,
  TS_IMPLICIT_LE,
  transferSyntaxOf,
  type DicomDataset,
  type DicomElement,
  type DicomFile,
} from './types.js';
import { textValue } from './values.js';

const UNDEFINED_LENGTH = 0xffffffff;

/**
 * The known VRs by their two bytes ('' for none), and whether each has a 4-byte length: one
 * array read per element (a Map lookup and a Set lookup per element were a visible part of
 * reading), and no new string per element.
 */
const VR_BY_BYTES: string[] = new Array<string>(65536).fill('');
const LONG_BY_BYTES = new Uint8Array(65536);
for (const vr of KNOWN_VRS) {
  const code = (vr.charCodeAt(0) << 8) | vr.charCodeAt(1);
  VR_BY_BYTES[code] = vr;
  if (LONG_VRS.has(vr)) LONG_BY_BYTES[code] = 1;
}

/** Where the element readElement just read ends (a second return value without an object per element). */
let elementEnd = 0;

/**
 * Most bytes a deflated data set may inflate to. Deflate reaches ~1000:1, so a few MB of
 * upload could otherwise take gigabytes of memory (a deflate bomb); the deflated transfer
 * syntax carries mostly reports and other non-image objects, far below this.
 */
export const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

interface Encoding {
  explicit: boolean;
  littleEndian: boolean;
}

/** Reads a DICOM Part-10 file (or a bare data set without meta header). Throws DicomDamagedError or NotDicomError. */
export function readDicom(bytes: Uint8Array): DicomFile {
  try {
    return readDicomUnchecked(bytes);
  } catch (error) {
    // a length that points outside the data surfaces as a RangeError of the DataView
    if (error instanceof RangeError) throw new DicomDamagedError('truncated or corrupt: an element or item runs past the end of its container');
    throw error;
  }
}

function readDicomUnchecked(bytes: Uint8Array): DicomFile {
  const warnings: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let metaStart: number;
  if (bytes.length >= 132 && ascii(bytes, 128, 4) === 'DICM') {
    metaStart = 132;
  } else if (bytes.length >= 140 && looksLikeMetaElement(bytes, 132)) {
    warnings.push('damaged "DICM" prefix (bytes 128-131); read from the meta header that follows');
    metaStart = 132;
  } else if (looksLikeMetaElement(bytes, 0)) {
    warnings.push('no preamble');
    metaStart = 0;
  } else {
    metaStart = -1;
  }

  let meta: DicomDataset = [];
  let bodyStart = 0;
  if (metaStart >= 0) {
    const parsed = readMeta(bytes, view, metaStart);
    meta = parsed.meta;
    bodyStart = parsed.end;
  } else if (!looksLikeDataset(bytes, 0)) {
    throw new NotDicomError('not a DICOM file (no "DICM" prefix and no data set at the start)');
  } else {
    warnings.push('no file meta information');
  }

  const tsElement = meta.find((e) => e.tag === 0x00020010);
  let tsUid = tsElement?.value ? textValue(tsElement.value) : '';
  if (!tsUid) {
    tsUid = guessEncoding(bytes, bodyStart);
    if (metaStart >= 0) warnings.push('file meta information has no transfer syntax');
  }
  const transferSyntax = transferSyntaxOf(tsUid);
  let body = bytes;
  let start = bodyStart;
  if (transferSyntax.deflated) {
    try {
      body = inflateRawSync(bytes.subarray(bodyStart), { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (error) {
      // zlib stops at the limit with ERR_BUFFER_TOO_LARGE instead of growing further
      if (error instanceof RangeError) throw new DicomDamagedError(`deflated data set expands beyond ${MAX_INFLATED_BYTES / 1024 / 1024} MiB (a deflate bomb?); not read`);
      throw new DicomDamagedError('deflated data set cannot be inflated');
    }
    start = 0;
  }
  const bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const dataset = readDataset(body, bodyView, start, body.length, transferSyntax, true).dataset;
  return { meta, dataset, transferSyntax, warnings };
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let text = '';
  for (let i = offset; i < offset + length && i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/** Group 0002, explicit VR: "02 00 ee ee V R". */
function looksLikeMetaElement(bytes: Uint8Array, offset: number): boolean {
  return bytes.length >= offset + 8 && bytes[offset] === 0x02 && bytes[offset + 1] === 0x00 && isVr(bytes, offset + 4);
}

function isVr(bytes: Uint8Array, offset: number): boolean {
  return KNOWN_VRS.has(String.fromCharCode(bytes[offset], bytes[offset + 1]));
}

/** A bare data set starts with a low even group (0008 usually) in little endian. */
function looksLikeDataset(bytes: Uint8Array, offset: number): boolean {
  if (bytes.length < offset + 8) return false;
  const group = bytes[offset] | (bytes[offset + 1] << 8);
  return group >= 0x0002 && group <= 0x0010 && group % 2 === 0;
}

/** Implicit or explicit VR little endian, from the first element of the data set. */
function guessEncoding(bytes: Uint8Array, offset: number): string {
  return isVr(bytes, offset + 4) ? TS_EXPLICIT_LE : TS_IMPLICIT_LE;
}

function readMeta(bytes: Uint8Array, view: DataView, start: number): { meta: DicomDataset; end: number } {
  const meta: DicomDataset = [];
  const encoding: Encoding = { explicit: true, littleEndian: true };
  let offset = start;
  while (offset + 8 <= bytes.length && view.getUint16(offset, true) === 0x0002) {
    meta.push(readElement(bytes, view, offset, bytes.length, encoding, false));
    offset = elementEnd;
  }
  return { meta, end: offset };
}

function readDataset(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  encoding: Encoding,
  topLevel: boolean,
): { dataset: DicomDataset; next: number } {
  const dataset: DicomDataset = [];
  let offset = start;
  while (offset < end) {
    if (topLevel && end - offset < 8) {
      if (bytes.subarray(offset, end).every((b) => b === 0)) break; // trailing padding
      throw new DicomDamagedError(`truncated: ${end - offset} stray bytes at the end of the data set`);
    }
    if (end - offset < 8) throw new DicomDamagedError(`truncated: element header at byte ${offset}`);
    const tag = readTag(view, offset, encoding.littleEndian);
    if (tag === TAG_ITEM_END) return { dataset, next: offset + 8 };
    if (tag === TAG_ITEM || tag === TAG_SEQUENCE_END) throw new DicomDamagedError(`bad sequence: unexpected item tag at byte ${offset}`);
    dataset.push(readElement(bytes, view, offset, end, encoding, true));
    offset = elementEnd;
  }
  return { dataset, next: offset };
}

function readTag(view: DataView, offset: number, littleEndian: boolean): number {
  return ((view.getUint16(offset, littleEndian) << 16) | view.getUint16(offset + 2, littleEndian)) >>> 0;
}

function readElement(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  end: number,
  encoding: Encoding,
  allowPixels: boolean,
): DicomElement {
  if (offset + 8 > end) throw new DicomDamagedError(`truncated: element header at byte ${offset}`);
  const tag = readTag(view, offset, encoding.littleEndian);
  let vr: string;
  let length: number;
  let headerLength: number;
  if (encoding.explicit) {
    const code = (bytes[offset + 4] << 8) | bytes[offset + 5];
    vr = VR_BY_BYTES[code];
    if (vr === '') throw new DicomDamagedError(`invalid VR at ${formatTag(tag)}`);
    if (LONG_BY_BYTES[code] === 1) {
      if (offset + 12 > end) throw new DicomDamagedError(`truncated: element header of ${formatTag(tag)}`);
      length = view.getUint32(offset + 8, encoding.littleEndian);
      headerLength = 12;
    } else {
      length = view.getUint16(offset + 6, encoding.littleEndian);
      headerLength = 8;
    }
  } else {
    vr = lookupTag(tag)?.vr ?? 'UN';
    length = view.getUint32(offset + 4, encoding.littleEndian);
    headerLength = 8;
  }
  const valueStart = offset + headerLength;
  const isPixels = allowPixels && (tag === TAG_PIXEL_DATA || tag === TAG_FLOAT_PIXEL_DATA || tag === TAG_DOUBLE_PIXEL_DATA);

  if (length === UNDEFINED_LENGTH) {
    if (isPixels) {
      const next = skipFragments(bytes, view, valueStart, end, encoding.littleEndian, tag);
      elementEnd = next;
      return { tag, vr, verbatim: bytes.subarray(offset, next), encapsulated: true };
    }
    // SQ, or UN holding a sequence in implicit VR little endian (PS3.5 6.2.2)
    const itemEncoding = vr === 'UN' ? { explicit: false, littleEndian: true } : encoding;
    const read = readItems(bytes, view, valueStart, end, itemEncoding, true, tag);
    elementEnd = read.next;
    return { tag, vr: 'SQ', items: read.items };
  }

  const valueEnd = valueStart + length;
  if (valueEnd > end) throw new DicomDamagedError(`truncated: ${formatTag(tag)} runs past the end of the ${end === bytes.length ? 'file' : 'item'}`);
  if (isPixels) {
    elementEnd = valueEnd;
    return { tag, vr, verbatim: bytes.subarray(offset, valueEnd), encapsulated: false };
  }

  const dictionaryVr = vr === 'UN' || !encoding.explicit ? lookupTag(tag)?.vr : undefined;
  if (vr === 'SQ' || dictionaryVr === 'SQ') {
    const itemEncoding = vr === 'UN' ? { explicit: false, littleEndian: true } : encoding;
    const read = readItems(bytes, view, valueStart, valueEnd, itemEncoding, false, tag);
    elementEnd = valueEnd;
    return { tag, vr: 'SQ', items: read.items };
  }
  elementEnd = valueEnd;
  return { tag, vr: vr === 'UN' && dictionaryVr ? dictionaryVr : vr, value: bytes.subarray(valueStart, valueEnd) };
}

function readItems(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  encoding: Encoding,
  undefinedLength: boolean,
  sequenceTag: number,
): { items: DicomDataset[]; next: number } {
  const items: DicomDataset[] = [];
  let offset = start;
  while (offset < end) {
    if (offset + 8 > end) throw new DicomDamagedError(`bad sequence: truncated item in ${formatTag(sequenceTag)}`);
    const tag = readTag(view, offset, encoding.littleEndian);
    const length = view.getUint32(offset + 4, encoding.littleEndian);
    if (tag === TAG_SEQUENCE_END) {
      if (undefinedLength) return { items, next: offset + 8 };
      throw new DicomDamagedError(`bad sequence: delimiter inside defined-length ${formatTag(sequenceTag)}`);
    }
    if (tag !== TAG_ITEM) throw new DicomDamagedError(`bad sequence: expected an item in ${formatTag(sequenceTag)}`);
    const itemStart = offset + 8;
    if (length === UNDEFINED_LENGTH) {
      const read = readDataset(bytes, view, itemStart, end, encoding, false);
      items.push(read.dataset);
      offset = read.next;
    } else {
      const itemEnd = itemStart + length;
      if (itemEnd > end) throw new DicomDamagedError(`bad sequence: item runs past the end of ${formatTag(sequenceTag)}`);
      items.push(readDataset(bytes, view, itemStart, itemEnd, encoding, false).dataset);
      offset = itemEnd;
    }
  }
  if (undefinedLength) throw new DicomDamagedError(`bad sequence: ${formatTag(sequenceTag)} has no sequence delimiter`);
  return { items, next: offset };
}

/** End offset (after the sequence delimiter) of encapsulated pixel data starting at `start`. */
function skipFragments(bytes: Uint8Array, view: DataView, start: number, end: number, littleEndian: boolean, tag: number): number {
  let offset = start;
  while (offset + 8 <= end) {
    const itemTag = readTag(view, offset, littleEndian);
    const length = view.getUint32(offset + 4, littleEndian);
    if (itemTag === TAG_SEQUENCE_END) return offset + 8;
    if (itemTag !== TAG_ITEM) throw new DicomDamagedError(`bad encapsulated pixel data in ${formatTag(tag)}`);
    offset += 8 + length;
  }
  throw new DicomDamagedError(`truncated: encapsulated pixel data ${formatTag(tag)} has no sequence delimiter`);
}
