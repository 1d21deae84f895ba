import { deflateRawSync } from 'node:zlib';
import { LONG_VRS, TAG_ITEM, TAG_ITEM_END, TAG_SEQUENCE_END, type DicomDataset, type DicomFile } from './types.js';
import { formatTag } from '../../standard/dicomDictionary.js';

interface Encoding {
  explicit: boolean;
  littleEndian: boolean;
}

/** Pieces at least this long (pixel data as read) are referenced, never copied. */
const LARGE = 65536;

/**
 * Collects the output: element headers and values are copied into one growing buffer (one
 * allocation per file, not one per header), large verbatim pieces are referenced as they are.
 */
class ByteSink {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  private buf: Buffer;
  private start = 0;
  private pos = 0;

  constructor(initial = 16384) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const pending = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, pending + extra + 1024));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  /** Closes the current run of copied bytes as one chunk. */
  private cut(): void {
    if (this.pos > this.start) this.chunks.push(this.buf.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.length += bytes.length;
    if (bytes.length >= LARGE) {
      this.cut();
      this.chunks.push(bytes);
      return;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  byte(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
    this.length++;
  }

  /** The output: runs of copied bytes and the large pieces between them, in order. */
  finish(): Uint8Array[] {
    this.cut();
    return this.chunks;
  }

  header(tag: number, vr: string, length: number, encoding: Encoding): void {
    this.ensure(12);
    const b = this.buf;
    const at = this.pos;
    const le = encoding.littleEndian;
    const group = tag >>> 16;
    const element = tag & 0xffff;
    if (le) {
      b.writeUInt16LE(group, at);
      b.writeUInt16LE(element, at + 2);
    } else {
      b.writeUInt16BE(group, at);
      b.writeUInt16BE(element, at + 2);
    }
    let size: number;
    const isDelimiter = group === 0xfffe;
    if (!encoding.explicit || isDelimiter) {
      if (le) b.writeUInt32LE(length >>> 0, at + 4);
      else b.writeUInt32BE(length >>> 0, at + 4);
      size = 8;
    } else if (LONG_VRS.has(vr)) {
      b[at + 4] = vr.charCodeAt(0);
      b[at + 5] = vr.charCodeAt(1);
      b.writeUInt16LE(0, at + 6);
      if (le) b.writeUInt32LE(length >>> 0, at + 8);
      else b.writeUInt32BE(length >>> 0, at + 8);
      size = 12;
    } else {
      if (length > 0xffff) throw new Error(`value of ${formatTag(tag)} too long for VR ${vr}`);
      b[at + 4] = vr.charCodeAt(0);
      b[at + 5] = vr.charCodeAt(1);
      if (le) b.writeUInt16LE(length, at + 6);
      else b.writeUInt16BE(length, at + 6);
      size = 8;
    }
    this.pos += size;
    this.length += size;
  }
}

const UNDEFINED_LENGTH = 0xffffffff;
const SPACE_PADDED = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UR', 'UT']);

function writeDataset(sink: ByteSink, dataset: DicomDataset, encoding: Encoding): void {
  for (const element of dataset) {
    if (element.verbatim) {
      sink.push(element.verbatim);
      continue;
    }
    if (element.items) {
      sink.header(element.tag, 'SQ', UNDEFINED_LENGTH, encoding);
      for (const item of element.items) {
        sink.header(TAG_ITEM, '', UNDEFINED_LENGTH, encoding);
        writeDataset(sink, item, encoding);
        sink.header(TAG_ITEM_END, '', 0, encoding);
      }
      sink.header(TAG_SEQUENCE_END, '', 0, encoding);
      continue;
    }
    const value = element.value ?? new Uint8Array(0);
    const odd = value.length % 2 === 1;
    sink.header(element.tag, element.vr, value.length + (odd ? 1 : 0), encoding);
    sink.push(value);
    if (odd) sink.byte(SPACE_PADDED.has(element.vr) ? 0x20 : 0x00);
  }
}

/** About the bytes the sink copies for a data set (headers, padding, values below LARGE): its first size. */
function copiedSize(dataset: DicomDataset): number {
  let size = 0;
  for (const element of dataset) {
    if (element.verbatim) size += element.verbatim.length >= LARGE ? 0 : element.verbatim.length;
    else if (element.items) for (const item of element.items) size += 16 + copiedSize(item);
    else size += 13 + (element.value?.length ?? 0);
    size += 12;
  }
  return size;
}

/** Encodes the meta group with a correct (0002,0000) group length. */
function writeMeta(sink: ByteSink, meta: DicomDataset): void {
  const body = new ByteSink(512);
  writeDataset(body, meta.filter((e) => e.tag !== 0x00020000), { explicit: true, littleEndian: true });
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length, 0);
  writeDataset(sink, [{ tag: 0x00020000, vr: 'UL', value: groupLength }], { explicit: true, littleEndian: true });
  for (const chunk of body.finish()) sink.push(chunk);
}

/**
 * Encodes a Part-10 file: zero preamble, "DICM", meta group, then the data set in its
 * transfer syntax (deflated when it says so). Returns chunks so that large verbatim pixel
 * data is never copied before it reaches the disk: usually one chunk with everything up to
 * the pixel data, then the pixel data as read.
 */
export function writeDicom(file: DicomFile): Uint8Array[] {
  // sized for the whole output up front: growing past a first guess copied every file once more
  const sink = new ByteSink(1024 + copiedSize(file.meta) + (file.transferSyntax.deflated ? 0 : copiedSize(file.dataset)));
  sink.push(new Uint8Array(128));
  sink.push(Uint8Array.of(0x44, 0x49, 0x43, 0x4d));
  writeMeta(sink, file.meta);
  const ts = file.transferSyntax;
  if (ts.deflated) {
    const body = new ByteSink();
    writeDataset(body, file.dataset, { explicit: ts.explicit, littleEndian: ts.littleEndian });
    return [...sink.finish(), deflateRawSync(Buffer.concat(body.finish()))];
  }
  writeDataset(sink, file.dataset, { explicit: ts.explicit, littleEndian: ts.littleEndian });
  return sink.finish();
}
