import { describe, expect, it } from 'vitest';
import {
  ABORT_REASON,
  decodeAbort,
  decodeAssociateAccept,
  decodeAssociateRequest,
  decodeReject,
  encodeAbort,
  encodeAssociateAccept,
  encodeAssociateReject,
  encodeAssociateRequest,
  encodePData,
  encodeReleaseRequest,
  encodeReleaseResponse,
  PDU_TYPE,
  PduError,
  PduReader,
  type AssociateRequest,
  type PduSink,
} from '../../../src/dicom/net/upperLayer.js';

/**
 * The upper layer's PDUs (PS3.8 9.3): encoders and decoders round-trip, and the stream reader
 * frames PDUs however the bytes are cut into chunks, refusing what PS3.8 does not allow.
 */

const request: AssociateRequest = {
  protocolVersion: 1,
  calledAeTitle: 'VEIL',
  callingAeTitle: 'MODALITY_01',
  applicationContext: '1.2.840.10008.3.1.1.1',
  contexts: [
    { id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
    { id: 3, abstractSyntax: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxes: ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2'] },
  ],
  maxPduLength: 16384,
  implementationClassUid: '1.2.276.0.7230010.3.0.3.6.8',
  implementationVersion: 'OFFIS_DCMTK_368',
};

interface Seen {
  pdus: { type: number; body: Buffer }[];
  pdvs: { contextId: number; command: boolean; last: boolean; bytes: Buffer }[];
  errors: PduError[];
}

function reader(max = 1 << 20): { reader: PduReader; seen: Seen } {
  const seen: Seen = { pdus: [], pdvs: [], errors: [] };
  const sink: PduSink = {
    pdu: (type, body) => seen.pdus.push({ type, body }),
    // pieces are views of the chunk, valid during the call only: copied, as a user must
    pdv: (contextId, command, last, bytes) => seen.pdvs.push({ contextId, command, last, bytes: Buffer.from(bytes) }),
    malformed: (error) => seen.errors.push(error),
  };
  return { reader: new PduReader(sink, max), seen };
}

/** `bytes` fed in chunks of `size`. */
function feed(target: PduReader, bytes: Buffer, size: number): void {
  for (let at = 0; at < bytes.length; at += size) target.push(bytes.subarray(at, at + size));
}

describe('association PDUs', () => {
  it('A-ASSOCIATE-RQ round-trips (AE titles, contexts and their syntaxes, user information)', () => {
    const bytes = encodeAssociateRequest(request);
    expect(bytes[0]).toBe(PDU_TYPE.associateRequest);
    expect(bytes.readUInt32BE(2)).toBe(bytes.length - 6);
    // AE titles are 16 bytes padded with spaces, at fixed offsets (PS3.8 table 9-11)
    expect(bytes.subarray(10, 26).toString('latin1')).toBe('VEIL            ');
    expect(bytes.subarray(26, 42).toString('latin1')).toBe('MODALITY_01     ');
    expect(decodeAssociateRequest(bytes.subarray(6))).toEqual(request);
  });

  it('A-ASSOCIATE-AC round-trips with a result per context', () => {
    const accept = {
      calledAeTitle: 'VEIL',
      callingAeTitle: 'MODALITY_01',
      applicationContext: '1.2.840.10008.3.1.1.1',
      contexts: [
        { id: 1, result: 0, transferSyntax: '1.2.840.10008.1.2' },
        { id: 3, result: 3, transferSyntax: '1.2.840.10008.1.2.4.90' },
      ],
      maxPduLength: 262144,
      implementationClassUid: '2.25.161513386215425309916428306212478462337',
      implementationVersion: 'VEIL',
    };
    const bytes = encodeAssociateAccept(accept);
    expect(bytes[0]).toBe(PDU_TYPE.associateAccept);
    expect(decodeAssociateAccept(bytes.subarray(6))).toEqual(accept);
  });

  it('A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT have the fixed layouts of PS3.8', () => {
    expect([...encodeAssociateReject(1, 1, 7)]).toEqual([0x03, 0, 0, 0, 0, 4, 0, 1, 1, 7]);
    expect(decodeReject(encodeAssociateReject(1, 1, 3).subarray(6))).toEqual({ result: 1, source: 1, reason: 3 });
    expect([...encodeReleaseRequest()]).toEqual([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    expect([...encodeReleaseResponse()]).toEqual([0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    expect([...encodeAbort(2, 6)]).toEqual([0x07, 0, 0, 0, 0, 4, 0, 0, 2, 6]);
    expect(decodeAbort(encodeAbort(2, 1).subarray(6))).toEqual({ source: 2, reason: 1 });
  });

  it('refuses a request whose items do not fit, or without its fixed fields', () => {
    const bytes = encodeAssociateRequest(request);
    // the last item cut short
    expect(() => decodeAssociateRequest(bytes.subarray(6, bytes.length - 3))).toThrow(PduError);
    expect(() => decodeAssociateRequest(bytes.subarray(6, 40))).toThrow(PduError);
    // an item claiming more bytes than the PDU has
    const long = Buffer.from(bytes);
    long.writeUInt16BE(0xfff0, 6 + 68 + 2);
    expect(() => decodeAssociateRequest(long.subarray(6))).toThrow(/longer than/);
  });
});

describe('P-DATA-TF', () => {
  it('splits a message into PDUs no longer than the peer takes, the last fragment flagged', () => {
    const value = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
    const parts = encodePData(5, false, value, 256);
    const wire = Buffer.concat(parts);
    const { reader: r, seen } = reader();
    r.push(wire);
    expect(seen.errors).toEqual([]);
    expect(Buffer.concat(seen.pdvs.map((p) => p.bytes))).toEqual(value);
    expect(seen.pdvs.every((p) => p.contextId === 5 && !p.command)).toBe(true);
    expect(seen.pdvs.map((p) => p.last)).toEqual([false, false, false, true]);
    // each PDU's variable field (its length field) within the peer's maximum length (PS3.8 D.1)
    for (let at = 0; at < wire.length; ) {
      const length = wire.readUInt32BE(at + 2);
      expect(length).toBeLessThanOrEqual(256);
      at += 6 + length;
    }
  });

  it('reads the same PDUs and bytes whatever the chunk size (headers and values cut anywhere)', () => {
    const command = Buffer.from('command set bytes, a few dozen of them');
    const dataset = Buffer.alloc(20_001);
    for (let i = 0; i < dataset.length; i++) dataset[i] = (i * 31) & 0xff;
    const wire = Buffer.concat([
      encodeAssociateRequest(request),
      ...encodePData(3, true, command),
      ...encodePData(3, false, dataset, 16384),
      // two PDVs in one P-DATA-TF, the second one empty
      Buffer.from([0x04, 0, 0, 0, 0, 14, 0, 0, 0, 4, 1, 0, 0xaa, 0xbb, 0, 0, 0, 2, 1, 2]),
      encodeReleaseRequest(),
    ]);
    for (const size of [1, 5, 6, 7, 13, 4096, 65536, wire.length]) {
      const { reader: r, seen } = reader();
      feed(r, wire, size);
      expect(seen.errors).toEqual([]);
      expect(seen.pdus.map((p) => p.type)).toEqual([PDU_TYPE.associateRequest, PDU_TYPE.releaseRequest]);
      expect(decodeAssociateRequest(seen.pdus[0].body)).toEqual(request);
      const commands = seen.pdvs.filter((p) => p.command && p.contextId === 3);
      expect(Buffer.concat(commands.map((p) => p.bytes))).toEqual(command);
      expect(commands.at(-1)?.last).toBe(true);
      const data = seen.pdvs.filter((p) => !p.command && p.contextId === 3);
      expect(Buffer.concat(data.map((p) => p.bytes))).toEqual(dataset);
      expect(data.filter((p) => p.last)).toHaveLength(1);
      expect(data.at(-1)?.last).toBe(true);
      const last = seen.pdvs.filter((p) => p.contextId === 1);
      expect(Buffer.concat(last.map((p) => p.bytes))).toEqual(Buffer.from([0xaa, 0xbb]));
      expect(last.at(-1)).toMatchObject({ last: true, command: false, bytes: Buffer.alloc(0) });
    }
  });
  it('hands PDV values on as views of the socket chunks, never joined, cut only at the chunk seams', () => {
    // what dimse.ts's patches to dcmjs-dimse's reader were tested for (test/dicom/net/dimsePdu.test.ts, deleted with them)
    const dataset = Buffer.alloc(300_001);
    for (let i = 0; i < dataset.length; i++) dataset[i] = (i * 7919) & 0xff;
    const wire = Buffer.concat([...encodePData(1, true, Buffer.from('command')), ...encodePData(1, false, dataset, 262_144)]);
    for (const size of [7, 1000, 65_536, wire.length]) {
      const views: boolean[] = [];
      const pieces: Buffer[] = [];
      let current = Buffer.alloc(0);
      const r = new PduReader(
        {
          pdu: () => undefined,
          pdv: (_id, command, _last, bytes) => {
            if (command) return;
            // a view of the chunk being read
            views.push(bytes.length === 0 || (bytes.buffer === current.buffer && bytes.byteOffset >= current.byteOffset && bytes.byteOffset + bytes.length <= current.byteOffset + current.length));
            pieces.push(Buffer.from(bytes));
          },
          malformed: (error) => {
            throw error;
          },
        },
        1 << 20,
      );
      for (let at = 0; at < wire.length; at += size) {
        // each chunk a buffer of its own, as a socket gives them
        current = Buffer.from(wire.subarray(at, at + size));
        r.push(current);
      }
      expect(views.every(Boolean)).toBe(true);
      expect(Buffer.concat(pieces).equals(dataset)).toBe(true);
      // no more pieces than PDVs plus chunk seams
      expect(pieces.length).toBeLessThanOrEqual(2 + Math.ceil(wire.length / size));
    }
  });
});

describe('the stream reader refuses what PS3.8 does not allow', () => {
  it('an unknown PDU type', () => {
    const { reader: r, seen } = reader();
    r.push(Buffer.from([0x09, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0].reason).toBe(ABORT_REASON.unrecognizedPdu);
    expect(seen.pdus).toEqual([]);
    // nothing more is read after it
    r.push(encodeReleaseRequest());
    expect(seen.pdus).toEqual([]);
  });

  it('a PDU longer than the bound, before any of its body is kept', () => {
    const { reader: r, seen } = reader(1024);
    r.push(Buffer.from([0x01, 0, 0x7f, 0xff, 0xff, 0xff]));
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0].message).toMatch(/longer than 1024/);
  });

  it('a PDV longer than its P-DATA-TF, and a P-DATA-TF that ends inside a PDV header', () => {
    const { reader: r, seen } = reader();
    r.push(Buffer.from([0x04, 0, 0, 0, 0, 8, 0, 0, 0, 9, 1, 3, 0, 0]));
    expect(seen.errors).toHaveLength(1);
    const second = reader();
    second.reader.push(Buffer.from([0x04, 0, 0, 0, 0, 10, 0, 0, 0, 2, 1, 3, 0, 0, 0, 0]));
    expect(second.seen.errors).toHaveLength(1);
    expect(second.seen.errors[0].message).toMatch(/inside a PDV header/);
  });

  it('a truncated PDU is not handed on (it waits for the rest)', () => {
    const { reader: r, seen } = reader();
    const bytes = encodeAssociateRequest(request);
    r.push(bytes.subarray(0, bytes.length - 1));
    expect(seen.pdus).toEqual([]);
    expect(seen.errors).toEqual([]);
    r.push(bytes.subarray(bytes.length - 1));
    expect(seen.pdus).toHaveLength(1);
  });
});
