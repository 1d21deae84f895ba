import dimse from 'dcmjs-dimse';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { librarySendPDataTF, SplitPData } from '../../../src/dicom/net/dimse.js';

/**
 * The PDU accumulator dimse.ts installs into dcmjs-dimse (socket chunks gathered in a list,
 * joined once per PDU): fed the same stream of PDUs cut at seeded places, from one byte to the
 * whole stream at once, it emits exactly the PDUs that were sent, in order; an unknown PDU
 * type is an error. And the P-DATA-TF writer it installs puts on the wire the bytes the
 * library's own writer does, for any maximum PDU length.
 */
type Accumulate = (this: object, chunk: Buffer) => Buffer | undefined;
const processChunk = (Object.getPrototypeOf(dimse.Scp.prototype) as { _process: Accumulate })._process;

function pdu(type: number, length: number, fill: number): Buffer {
  const bytes = Buffer.alloc(6 + length, fill);
  bytes[0] = type;
  bytes[1] = 0;
  bytes.writeUInt32BE(length, 2);
  return bytes;
}

function feed(stream: Buffer, cuts: number[]): { pdus: Buffer[]; errors: string[]; split: SplitPData[]; events: (Buffer | SplitPData)[] } {
  const pdus: Buffer[] = [];
  const split: SplitPData[] = [];
  const events: (Buffer | SplitPData)[] = [];
  const errors: string[] = [];
  const accumulator = {
    emit(event: string, value: unknown) {
      if (event === 'pdu' && value instanceof SplitPData) split.push(value);
      else if (event === 'pdu') pdus.push(Buffer.from(value as Buffer));
      if (event === 'pdu') events.push(value as Buffer | SplitPData);
      else errors.push((value as Error).message);
      return true;
    },
  };
  let at = 0;
  for (const end of [...cuts, stream.length]) {
    let rest: Buffer | undefined = stream.subarray(at, end);
    at = end;
    do rest = processChunk.call(accumulator, rest);
    while (rest !== undefined);
  }
  return { pdus, errors, split, events };
}

/**
 * Messages as the library's P-DATA handling sees them: at each fragment flagged last, the bytes
 * of the fragments since the previous one. A buffer is a whole PDU (read as PS3.8 9.3.5 lays it
 * out), a SplitPData gives its fragments; `views` is false if a fragment is not a view of `stream`.
 */
function messagesOf(events: readonly (Buffer | SplitPData)[], stream: Buffer): { messages: string[]; views: boolean } {
  const messages: string[] = [];
  let pending: Buffer[] = [];
  let views = true;
  const take = (pcId: number, command: boolean, last: boolean, value: Buffer) => {
    pending.push(value);
    if (last) {
      messages.push(`${pcId}:${command ? 'command' : 'data'}:${Buffer.concat(pending).toString('hex')}`);
      pending = [];
    }
  };
  for (const event of events) {
    if (event instanceof SplitPData) {
      for (const pdv of event.getPdvs()) {
        const value = pdv.getValue();
        if (value.length > 0 && value.buffer !== stream.buffer) views = false;
        take(pdv.getPresentationContextId(), pdv.isCommand(), pdv.isLastFragment(), value);
      }
      continue;
    }
    for (let at = 6; at < event.length; ) {
      const length = event.readUInt32BE(at);
      take(event[at + 4], (event[at + 5] & 1) === 1, (event[at + 5] & 2) === 2, event.subarray(at + 6, at + 4 + length));
      at += 4 + length;
    }
  }
  return { messages, views };
}

const digest = (text: string) => `${text.slice(0, 16)}… ${createHash('sha256').update(text).digest('hex')}`;

describe('PDUs gathered from socket chunks', () => {
  const sent = [pdu(1, 68, 1), pdu(4, 262_144, 2), pdu(4, 12, 3), pdu(4, 70_000, 4), pdu(5, 4, 5), pdu(7, 4, 6)];
  const stream = Buffer.concat(sent);

  it('emits the PDUs sent, whatever the chunk boundaries', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const size of [1, 5, 6, 7, 1000, 65_536, stream.length, 0]) {
      const cuts: number[] = [];
      for (let at = 0; at < stream.length; ) {
        at += size > 0 ? size : 1 + Math.floor(random() * 100_000);
        if (at < stream.length) cuts.push(at);
      }
      const { pdus, errors } = feed(stream, cuts);
      expect(errors).toEqual([]);
      expect(pdus.map((p) => p.toString('hex'))).toEqual(sent.map((p) => p.toString('hex')));
    }
  });

  it('reads a P-DATA-TF that spans socket chunks as views of them: the same messages, no copy', () => {
    type Send = (this: object, request: unknown, contextId: number, maxPduLength: number) => void;
    const send = (Object.getPrototypeOf(dimse.Scp.prototype) as { _sendPDataTF: Send })._sendPDataTF;
    const writes: Buffer[] = [];
    const sender = { socket: { cork: () => undefined, uncork: () => undefined, write: (chunk: Uint8Array) => writes.push(Buffer.from(chunk)) > 0 }, statistics: { addBytesSent: () => undefined } };
    const dataset = new dimse.Dataset({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', SOPInstanceUID: '1.2.826.0.1.3680043.8.498.6', PatientComments: 'y'.repeat(150_001) }, '1.2.840.10008.1.2.1');
    const request = new dimse.requests.CStoreRequest(dataset);
    request.setMessageId(5);
    for (const [contextId, max] of [[1, 16_384], [3, 65_536], [5, 0]] as const) send.call(sender, request, contextId, max);
    // a PDU whose PDV items are several, and one with an empty command fragment
    const item = (pcId: number, control: number, value: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, pcId, control]), value]);
    const items = [item(9, 0, Buffer.alloc(3000, 1)), item(9, 2, Buffer.alloc(70_000, 2)), item(11, 3, Buffer.alloc(0))];
    for (const i of items) i.writeUInt32BE(i.length - 4, 0);
    const several = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0]), ...items]);
    several.writeUInt32BE(several.length - 6, 2);
    const stream = Buffer.concat([...writes, several]);
    const whole = feed(stream, []);
    expect(whole.split).toEqual([]);
    const expected = messagesOf(whole.events, stream).messages;
    expect(expected.length).toBe(8);
    let seed = 11;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const size of [1, 5, 6, 7, 1000, 65_536, 0, 0]) {
      const cuts: number[] = [];
      for (let at = 0; at < stream.length; ) {
        at += size > 0 ? size : 1 + Math.floor(random() * 100_000);
        if (at < stream.length) cuts.push(at);
      }
      const { split, errors, events } = feed(stream, cuts);
      expect(errors).toEqual([]);
      // P-DATA-TFs that fit in one chunk come as buffers, those that span chunks split
      expect(split.length).toBeGreaterThan(0);
      const got = messagesOf(events, stream);
      expect(got.views).toBe(true);
      // compared as digests: the messages are hundreds of kB
      expect(got.messages.map(digest)).toEqual(expected.map(digest));
    }
  });

  it('refuses an unknown PDU type', () => {
    expect(feed(pdu(9, 4, 0), []).errors).toEqual(['Unknown PDU type: 9']);
  });
});

describe('P-DATA-TF written directly', () => {
  type Send = (this: object, request: unknown, contextId: number, maxPduLength: number) => void;
  const direct = (Object.getPrototypeOf(dimse.Scp.prototype) as { _sendPDataTF: Send })._sendPDataTF;

  function wire(send: Send, request: unknown, contextId: number, max: number): { bytes: string; counted: number } {
    const writes: Buffer[] = [];
    let counted = 0;
    const sender = {
      socket: { cork: () => undefined, uncork: () => undefined, write: (chunk: Uint8Array) => writes.push(Buffer.from(chunk)) > 0 },
      statistics: { addBytesSent: (n: number) => (counted += n) },
      datasetWriteOptions: {},
      datasetNameMap: {},
    };
    send.call(sender, request, contextId, max);
    return { bytes: Buffer.concat(writes).toString('hex'), counted };
  }

  it('sends the bytes the library sends, for small, large and unlimited PDUs', () => {
    expect(direct).not.toBe(librarySendPDataTF);
    const dataset = new dimse.Dataset({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', SOPInstanceUID: '1.2.826.0.1.3680043.8.498.5', PatientComments: 'x'.repeat(70_001) }, '1.2.840.10008.1.2.1');
    const request = new dimse.requests.CStoreRequest(dataset);
    request.setMessageId(3);
    const echo = new dimse.requests.CEchoRequest();
    for (const [message, contextId, max] of [[request, 1, 16_384], [request, 3, 65_536], [request, 5, 0], [request, 7, 70_100], [echo, 1, 16_384]] as const) {
      const mine = wire(direct, message, contextId, max);
      const library = wire(librarySendPDataTF as unknown as Send, message, contextId, max);
      expect(mine.bytes).toBe(library.bytes);
      expect(mine.counted).toBe(library.counted);
    }
  });
});


describe('the PDU reader on a real association', () => {
  it("is the one that reads the sockets' chunks (dcmjs-dimse's own accumulator class), and a 2 MB data set arrives whole", async () => {
    const { startScp, sendInstances, STATUS } = await import('../../../src/dicom/net/dimse.js');
    const { pduReaderInUse } = await import('../../../src/dicom/net/dimse.js');
    const { freePort } = await import('./orthanc.js');
    // a data set larger than any socket chunk and than one PDU: P-DATA-TFs that span chunks
    const dataset = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < dataset.length; i++) dataset[i] = (i * 7919) & 0xff;
    const port = await freePort();
    let received: Buffer | undefined;
    const scp = await startScp('127.0.0.1', port, {
      calledAeTitle: 'VEIL',
      allowedCallers: [],
      onAssociation: () => undefined,
      onStore: (instance) => {
        received = Buffer.concat(instance.dataset);
        return { status: STATUS.success };
      },
    });
    try {
      const sopClass = '1.2.840.10008.5.1.4.1.1.7';
      const result = await sendInstances({ aeTitle: 'VEIL', host: '127.0.0.1', port, callingAeTitle: 'TEST' }, [
        { sopClassUid: sopClass, sopInstanceUid: '1.2.3.4', transferSyntaxUid: '1.2.840.10008.1.2.1', dataset, onStored: () => undefined },
      ]);
      expect(result).toEqual({ stored: 1, failed: 0 });
      expect(pduReaderInUse()).toBe(true);
      expect(received && createHash('sha256').update(received).digest('hex')).toBe(createHash('sha256').update(dataset).digest('hex'));
    } finally {
      scp.close();
    }
  });
});
