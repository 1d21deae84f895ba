import { deflateRawSync } from 'node:zlib';
import { LONG_VRS, TAG_ITEM, TAG_ITEM_END, TAG_SEQUENCE_END, type DicomDataset, type DicomFile } from './types.js';
import { formatTag } from '../dictionary.js';

interface Encoding {
  explicit: boolean;
  littleEndian: boolean;
}

/** Collects output chunks; verbatim elements (pixel data) are referenced, not copied. */
class ByteSink {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  private scratch = Buffer.allocUnsafe(16);

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** The chunks with every run of small pieces merged, large verbatim pieces left as they are. */
  coalesced(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let run: Uint8Array[] = [];
    const flush = () => {
      if (run.length === 1) out.push(run[0]);
      else if (run.length > 1) out.push(Buffer.concat(run));
      run = [];
    };
    for (const chunk of this.chunks) {
      if (chunk.length >= 65536) {
        flush();
        out.push(chunk);
      } else run.push(chunk);
    }
    flush();
    return out;
  }

  header(tag: number, vr: string, length: number, encoding: Encoding): void {
    const b = this.scratch;
    const le = encoding.littleEndian;
    const group = tag >>> 16;
    const element = tag & 0xffff;
    if (le) {
      b.writeUInt16LE(group, 0);
      b.writeUInt16LE(element, 2);
    } else {
      b.writeUInt16BE(group, 0);
      b.writeUInt16BE(element, 2);
    }
    let size: number;
    const isDelimiter = group === 0xfffe;
    if (!encoding.explicit || isDelimiter) {
      if (le) b.writeUInt32LE(length >>> 0, 4);
      else b.writeUInt32BE(length >>> 0, 4);
      size = 8;
    } else if (LONG_VRS.has(vr)) {
      b.write(vr, 4, 'latin1');
      b.writeUInt16LE(0, 6);
      if (le) b.writeUInt32LE(length >>> 0, 8);
      else b.writeUInt32BE(length >>> 0, 8);
      size = 12;
    } else {
      if (length > 0xffff) throw new Error(`value of ${formatTag(tag)} too long for VR ${vr}`);
      b.write(vr, 4, 'latin1');
      if (le) b.writeUInt16LE(length, 6);
      else b.writeUInt16BE(length, 6);
      size = 8;
    }
    this.push(Buffer.from(b.subarray(0, size)));
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
    if (odd) sink.push(Uint8Array.of(SPACE_PADDED.has(element.vr) ? 0x20 : 0x00));
  }
}

/** Encodes the meta group with a correct (0002,0000) group length. */
function encodeMeta(meta: DicomDataset): Uint8Array {
  const sink = new ByteSink();
  const body = meta.filter((e) => e.tag !== 0x00020000);
  writeDataset(sink, body, { explicit: true, littleEndian: true });
  const lengthSink = new ByteSink();
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(sink.length, 0);
  writeDataset(lengthSink, [{ tag: 0x00020000, vr: 'UL', value: groupLength }], { explicit: true, littleEndian: true });
  return Buffer.concat([...lengthSink.chunks, ...sink.chunks]);
}

/**
 * Encodes a Part-10 file: zero preamble, "DICM", meta group, then the data set in its
 * transfer syntax (deflated when it says so). Returns chunks so that large verbatim pixel
 * data is never copied before it reaches the disk.
 */
export function writeDicom(file: DicomFile): Uint8Array[] {
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  const meta = encodeMeta(file.meta);
  const sink = new ByteSink();
  const ts = file.transferSyntax;
  writeDataset(sink, file.dataset, { explicit: ts.explicit, littleEndian: ts.littleEndian });
  if (ts.deflated) return [Buffer.concat([preamble, meta]), deflateRawSync(Buffer.concat(sink.chunks))];
  const body = sink.coalesced();
  // preamble and meta join the first piece of the data set: usually one header chunk + pixel data
  if (body.length > 0 && body[0].length < 65536) return [Buffer.concat([preamble, meta, body[0]]), ...body.slice(1)];
  return [Buffer.concat([preamble, meta]), ...body];
}
