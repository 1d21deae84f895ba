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

  /** With `scratch`, starts in the caller's buffer (and hands a larger one back to it when it grows). */
  constructor(initial = 16384, private readonly scratch?: WriteScratch) {
    if (scratch && scratch.buffer.length >= initial) this.buf = scratch.buffer;
    else {
      this.buf = Buffer.allocUnsafe(initial);
      if (scratch && initial <= MAX_SCRATCH) scratch.buffer = this.buf;
    }
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const pending = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, pending + extra + 1024));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    if (this.scratch && next.length <= MAX_SCRATCH) this.scratch.buffer = next;
    this.start = 0;
    this.pos = pending;
  }

  /** Closes the current run of copied bytes as one chunk. */
  private cut(): void {
    if (this.pos > this.start) this.chunks.push(this.buf.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  push(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n === 0) return;
    this.length += n;
    if (n >= LARGE) {
      this.cut();
      this.chunks.push(bytes);
      return;
    }
    this.ensure(n);
    const b = this.buf;
    const at = this.pos;
    // most values are a few bytes: a loop costs less than set()'s fixed overhead there
    if (n <= SMALL) for (let i = 0; i < n; i++) b[at + i] = bytes[i];
    else b.set(bytes, at);
    this.pos = at + n;
  }

  uint32le(value: number): void {
    this.ensure(4);
    put32(this.buf, this.pos, value >>> 0, true);
    this.pos += 4;
    this.length += 4;
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

  /**
   * An element header, its bytes stored one by one (Buffer's writeUInt16LE and friends check
   * their arguments on every call; these values are in range by construction).
   */
  header(tag: number, vr: string, length: number, encoding: Encoding): void {
    this.ensure(12);
    const b = this.buf;
    const at = this.pos;
    const le = encoding.littleEndian;
    const group = tag >>> 16;
    const element = tag & 0xffff;
    put16(b, at, group, le);
    put16(b, at + 2, element, le);
    let size: number;
    const isDelimiter = group === 0xfffe;
    if (!encoding.explicit || isDelimiter) {
      put32(b, at + 4, length >>> 0, le);
      size = 8;
    } else if (isLongVr(vr)) {
      b[at + 4] = vr.charCodeAt(0);
      b[at + 5] = vr.charCodeAt(1);
      b[at + 6] = 0;
      b[at + 7] = 0;
      put32(b, at + 8, length >>> 0, le);
      size = 12;
    } else {
      if (length > 0xffff) throw new Error(`value of ${formatTag(tag)} too long for VR ${vr}`);
      b[at + 4] = vr.charCodeAt(0);
      b[at + 5] = vr.charCodeAt(1);
      put16(b, at + 6, length, le);
      size = 8;
    }
    this.pos += size;
    this.length += size;
  }
}

/** Values up to this many bytes are copied byte by byte. */
const SMALL = 32;

function put16(b: Buffer, at: number, value: number, littleEndian: boolean): void {
  if (littleEndian) {
    b[at] = value & 0xff;
    b[at + 1] = value >>> 8;
  } else {
    b[at] = value >>> 8;
    b[at + 1] = value & 0xff;
  }
}

function put32(b: Buffer, at: number, value: number, littleEndian: boolean): void {
  if (littleEndian) {
    b[at] = value & 0xff;
    b[at + 1] = (value >>> 8) & 0xff;
    b[at + 2] = (value >>> 16) & 0xff;
    b[at + 3] = value >>> 24;
  } else {
    b[at] = value >>> 24;
    b[at + 1] = (value >>> 16) & 0xff;
    b[at + 2] = (value >>> 8) & 0xff;
    b[at + 3] = value & 0xff;
  }
}

/** Whether an explicit VR has a 4-byte length: one array read by the VR's two bytes (a Set lookup per element before). */
const LONG_BY_CODE = new Uint8Array(65536);
for (const vr of LONG_VRS) LONG_BY_CODE[(vr.charCodeAt(0) << 8) | vr.charCodeAt(1)] = 1;

function isLongVr(vr: string): boolean {
  return vr.length === 2 && LONG_BY_CODE[(vr.charCodeAt(0) << 8) | vr.charCodeAt(1)] === 1;
}

/**
 * A buffer lent to `writeDicom` for the bytes it copies, reused file after file by a thread that
 * writes each output before it encodes the next: a new 16 kB buffer per file cost an allocation
 * outside the heap and garbage collection work.
 */
export interface WriteScratch {
  buffer: Buffer;
}

/** A scratch buffer is kept only up to this size (a larger output gets a buffer of its own). */
const MAX_SCRATCH = 1 << 20;

const PREAMBLE = new Uint8Array(128);
const DICM = Uint8Array.of(0x44, 0x49, 0x43, 0x4d);
const META_ENCODING: Encoding = { explicit: true, littleEndian: true };
const TAG_META_GROUP_LENGTH = 0x00020000;

const UNDEFINED_LENGTH = 0xffffffff;
const SPACE_PADDED = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UR', 'UT']);

function writeDataset(sink: ByteSink, dataset: DicomDataset, encoding: Encoding, skipTag = -1): void {
  for (const element of dataset) {
    if (element.tag === skipTag) continue;
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

/**
 * Bytes of the meta group after (0002,0000) when every element is a plain value (as Veil builds
 * it); undefined for anything else (sequences, verbatim or delimiter elements), measured by encoding.
 */
function plainMetaLength(meta: DicomDataset): number | undefined {
  let size = 0;
  for (const element of meta) {
    if (element.tag === TAG_META_GROUP_LENGTH) continue;
    if (element.verbatim || element.items || element.tag >>> 16 === 0xfffe) return undefined;
    const length = element.value?.length ?? 0;
    size += (isLongVr(element.vr) ? 12 : 8) + length + (length % 2);
  }
  return size;
}

/** Encodes the meta group with a correct (0002,0000) group length. */
function writeMeta(sink: ByteSink, meta: DicomDataset): void {
  const length = plainMetaLength(meta);
  if (length !== undefined) {
    // the group length is known before the group is written: no second sink per file
    sink.header(TAG_META_GROUP_LENGTH, 'UL', 4, META_ENCODING);
    sink.uint32le(length);
    writeDataset(sink, meta, META_ENCODING, TAG_META_GROUP_LENGTH);
    return;
  }
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
 * the pixel data, then the pixel data as read. With `scratch`, the copied bytes are written into
 * the caller's buffer: the chunks are views of it, valid until the next call given the same scratch.
 */
export function writeDicom(file: DicomFile, scratch?: WriteScratch): Uint8Array[] {
  // sized for the whole output up front: growing past a first guess copied every file once more
  const sink = new ByteSink(1024 + copiedSize(file.meta) + (file.transferSyntax.deflated ? 0 : copiedSize(file.dataset)), scratch);
  sink.push(PREAMBLE);
  sink.push(DICM);
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
