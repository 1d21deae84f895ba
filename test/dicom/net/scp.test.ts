import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicom } from '../../../src/dicom/codec/read.js';
import { getText } from '../../../src/dicom/marking.js';
import { startScp, STATUS, type ReceivedInstance, type StoreOutcome } from '../../../src/dicom/net/scp.js';
import { parseCommand, writeCommand } from '../../../src/dicom/net/dimseCommand.js';
import {
  decodeAbort,
  decodeAssociateAccept,
  encodeAssociateRequest,
  encodePData,
  encodeReleaseRequest,
  PDU_TYPE,
  PduReader,
  type AssociateRequest,
} from '../../../src/dicom/net/upperLayer.js';
import { sharedDicom } from '../helpers.js';
import { freePort } from './orthanc.js';

/**
 * Veil's own C-STORE SCP (src/dicom/net/scp.ts) against dcmtk's storescu and echoscu, and
 * against a raw socket for what dcmtk does not send: a rejected abstract syntax, an unknown
 * presentation context, an association dropped in the middle of a data set.
 */
const data = sharedDicom;
const hasDcmtk = spawnSync('sh', ['-c', 'command -v storescu && command -v echoscu'], { encoding: 'utf8' }).status === 0;

let port = 0;
let scp: { close(): void };
const stored: ReceivedInstance[] = [];
const associations: { calling: string; accepted: boolean; reason: string }[] = [];
/** Set by a test to hold the answer to a C-STORE. */
let answerWith: (instance: ReceivedInstance) => StoreOutcome | Promise<StoreOutcome> = () => ({ status: STATUS.success });

beforeAll(async () => {
  port = await freePort();
  scp = await startScp('127.0.0.1', port, {
    calledAeTitle: 'VEIL',
    allowedCallers: [],
    onAssociation: (calling, accepted, reason) => associations.push({ calling, accepted, reason }),
    onStore: (instance) => {
      // copied: the buffer goes back to the pool once answered
      stored.push({ ...instance, dataset: [Buffer.concat(instance.dataset)], room: undefined });
      return answerWith(instance);
    },
  });
});
afterAll(() => scp.close());

function run(tool: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(tool, args, { env: { ...process.env, TCP_NODELAY: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(!hasDcmtk)('with dcmtk', () => {
  it('answers echoscu and stores what storescu sends over several presentation contexts, pixel data whole', async () => {
    expect((await run('echoscu', ['-aec', 'VEIL', '-aet', 'ECHOER', '127.0.0.1', String(port)])).code).toBe(0);
    stored.length = 0;
    // CT in Explicit VR Little Endian, Ultrasound in Explicit VR Big Endian: two SOP classes, two syntaxes
    const files = ['CT_small.dcm', 'ExplVR_BigEnd.dcm', '693_UNCR.dcm'].map((f) => join(data, f));
    const result = await run('storescu', ['-aec', 'VEIL', '-aet', 'MODALITY', '127.0.0.1', String(port), ...files]);
    expect(result.code, result.output).toBe(0);
    expect(stored.map((s) => s.transferSyntaxUid)).toEqual(['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1']);
    expect(stored.map((s) => s.sopClassUid)).toEqual(['1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.6.1', '1.2.840.10008.5.1.4.1.1.2']);
    expect(stored.every((s) => s.callingAeTitle === 'MODALITY')).toBe(true);
    // storescu re-encodes what it reads (group lengths, padding): the pixel data and the
    // instance's UID arrive as the file has them
    for (const [i, file] of files.entries()) {
      const parsed = readDicom(readFileSync(file));
      const element = parsed.dataset.find((e) => e.tag === 0x7fe00010);
      // the value's last 4 KB (pixel data is kept whole, header and value, as `verbatim`)
      const pixels = (element?.value ?? element?.verbatim)?.subarray(-4096);
      const received = Buffer.concat(stored[i].dataset);
      expect(pixels && received.includes(Buffer.from(pixels)), file).toBe(true);
      expect(received.includes(Buffer.from(getText(parsed.dataset, 0x00080018) ?? 'none')), file).toBe(true);
    }
    expect(associations.filter((a) => a.accepted).map((a) => a.calling)).toEqual(expect.arrayContaining(['ECHOER', 'MODALITY']));
  });

  it("sends storescu the listener's failure status and comment", async () => {
    answerWith = () => ({ status: STATUS.outOfResources, comment: 'spool full' });
    try {
      const result = await run('storescu', ['-v', '-aec', 'VEIL', '127.0.0.1', String(port), join(data, 'CT_small.dcm')]);
      expect(result.output).toMatch(/Refused: OutOfResources|0xa700|A700/i);
    } finally {
      answerWith = () => ({ status: STATUS.success });
    }
  });

  it('refuses a called AE title that is not ours with A-ASSOCIATE-RJ', async () => {
    const result = await run('echoscu', ['-aec', 'OTHER', '127.0.0.1', String(port)]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/Called AE Title Not Recognized/);
    expect(associations.at(-1)).toMatchObject({ accepted: false, reason: 'called AE title is not ours' });
  });

  it('keeps serving after a storescu killed while its C-STORE waits for the answer', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let arrived: () => void = () => undefined;
    const holding = new Promise<void>((r) => (arrived = r));
    answerWith = async () => {
      arrived();
      await held;
      return { status: STATUS.success };
    };
    const child = spawn('storescu', ['-aec', 'VEIL', '127.0.0.1', String(port), join(data, '693_UNCR.dcm'), join(data, 'CT_small.dcm')]);
    const exited = new Promise((r) => child.on('close', r));
    await holding;
    child.kill('SIGKILL');
    await exited;
    release();
    answerWith = () => ({ status: STATUS.success });
    stored.length = 0;
    const result = await run('storescu', ['-aec', 'VEIL', '127.0.0.1', String(port), join(data, 'CT_small.dcm')]);
    expect(result.code, result.output).toBe(0);
    expect(stored).toHaveLength(1);
  });
});

/** A raw association: bytes in, PDUs out. */
class RawPeer {
  readonly pdus: { type: number; body: Buffer }[] = [];
  readonly pdvs: { contextId: number; command: boolean; last: boolean; bytes: Buffer }[] = [];
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    const reader = new PduReader(
      {
        pdu: (type, body) => this.pdus.push({ type, body }),
        pdv: (contextId, command, last, bytes) => this.pdvs.push({ contextId, command, last, bytes: Buffer.from(bytes) }),
        malformed: () => undefined,
      },
      1 << 24,
    );
    this.socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((r) => this.socket.on('close', () => r()));
  }

  send(bytes: Buffer | Buffer[]): void {
    this.socket.write(Array.isArray(bytes) ? Buffer.concat(bytes) : bytes);
  }

  async until(test: () => boolean): Promise<void> {
    while (!test()) await new Promise<void>((r) => this.waiters.push(r));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const CT = '1.2.840.10008.5.1.4.1.1.2';
function associateRequest(contexts: AssociateRequest['contexts']): Buffer {
  return encodeAssociateRequest({
    protocolVersion: 1,
    calledAeTitle: 'VEIL',
    callingAeTitle: 'RAW',
    applicationContext: '1.2.840.10008.3.1.1.1',
    contexts,
    maxPduLength: 16384,
    implementationClassUid: '1.2.3.4',
    implementationVersion: 'RAW',
  });
}
const storeCommand = (messageId: number, sopInstanceUid: string) =>
  writeCommand({ AffectedSOPClassUID: CT, CommandField: 0x0001, MessageID: messageId, Priority: 0, CommandDataSetType: 0x0000, AffectedSOPInstanceUID: sopInstanceUid }) ?? Buffer.alloc(0);

describe('over a raw socket', () => {
  it('accepts Verification and storage contexts, rejects a query abstract syntax and a private transfer syntax', async () => {
    const peer = new RawPeer(port);
    peer.send(
      associateRequest([
        { id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
        { id: 3, abstractSyntax: '1.2.840.10008.5.1.4.1.2.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
        { id: 5, abstractSyntax: CT, transferSyntaxes: ['1.2.3.private', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2'] },
        { id: 7, abstractSyntax: CT, transferSyntaxes: ['1.2.3.private'] },
      ]),
    );
    await peer.until(() => peer.pdus.length > 0);
    expect(peer.pdus[0].type).toBe(PDU_TYPE.associateAccept);
    const accept = decodeAssociateAccept(peer.pdus[0].body);
    expect(accept.contexts.map((c) => [c.id, c.result])).toEqual([
      [1, 0],
      [3, 3],
      [5, 0],
      [7, 4],
    ]);
    expect(accept.contexts[2].transferSyntax).toBe('1.2.840.10008.1.2.1');
    expect(accept.maxPduLength).toBeGreaterThan(0);

    // a command the SCP does not perform (C-FIND-RQ): "unrecognized operation", the association goes on
    const find = writeCommand({ AffectedSOPClassUID: '1.2.840.10008.1.1', CommandField: 0x0020, MessageID: 7, Priority: 0, CommandDataSetType: 0x0101 }) ?? Buffer.alloc(0);
    peer.send(encodePData(1, true, find));
    await peer.until(() => peer.pdvs.some((p) => p.last));
    expect(parseCommand(peer.pdvs[0].bytes)).toMatchObject({ CommandField: 0x8020, MessageIDBeingRespondedTo: 7, Status: 0x0211 });

    // a C-STORE in PDVs of 1000 bytes, then release
    stored.length = 0;
    const dataset = Buffer.alloc(5000, 0x5a);
    peer.send([...encodePData(5, true, storeCommand(8, '1.2.3.8')), ...encodePData(5, false, dataset, 1006)]);
    await peer.until(() => peer.pdvs.filter((p) => p.last).length === 2);
    expect(parseCommand(peer.pdvs.at(-1)?.bytes ?? Buffer.alloc(0))).toMatchObject({ CommandField: 0x8001, MessageIDBeingRespondedTo: 8, Status: 0, AffectedSOPInstanceUID: '1.2.3.8' });
    expect(stored).toHaveLength(1);
    expect(Buffer.concat(stored[0].dataset)).toEqual(dataset);
    peer.send(encodeReleaseRequest());
    await peer.until(() => peer.pdus.length === 2);
    expect(peer.pdus[1].type).toBe(PDU_TYPE.releaseResponse);
    await peer.closed;
  });

  it('aborts a P-DATA on a presentation context that was not accepted, and an unknown PDU type', async () => {
    const peer = new RawPeer(port);
    peer.send(associateRequest([{ id: 1, abstractSyntax: CT, transferSyntaxes: ['1.2.840.10008.1.2'] }, { id: 3, abstractSyntax: '1.2.840.10008.5.1.4.1.2.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }]));
    await peer.until(() => peer.pdus.length > 0);
    peer.send(encodePData(3, true, storeCommand(1, '1.2.3.1')));
    await peer.closed;
    expect(peer.pdus.at(-1)?.type).toBe(PDU_TYPE.abort);
    expect(decodeAbort(peer.pdus.at(-1)?.body ?? Buffer.alloc(4)).source).toBe(2);

    const garbled = new RawPeer(port);
    garbled.send(Buffer.from([0x0b, 0, 0, 0, 0, 2, 0, 0]));
    await garbled.closed;
    expect(garbled.pdus.map((p) => p.type)).toEqual([PDU_TYPE.abort]);
    expect(decodeAbort(garbled.pdus[0].body)).toEqual({ source: 2, reason: 1 });
  });

  it('forgets an association dropped in the middle of a data set, and keeps serving others', async () => {
    stored.length = 0;
    const peer = new RawPeer(port);
    peer.send(associateRequest([{ id: 1, abstractSyntax: CT, transferSyntaxes: ['1.2.840.10008.1.2'] }]));
    await peer.until(() => peer.pdus.length > 0);
    // the command and the first of three fragments, then the connection cut
    peer.send([...encodePData(1, true, storeCommand(1, '1.2.3.1')), ...encodePData(1, false, Buffer.alloc(3000, 1), 1006).slice(0, 2)]);
    await new Promise((r) => setTimeout(r, 50));
    peer.destroy();
    await peer.closed;
    expect(stored).toHaveLength(0);

    const next = new RawPeer(port);
    next.send(associateRequest([{ id: 1, abstractSyntax: CT, transferSyntaxes: ['1.2.840.10008.1.2'] }]));
    await next.until(() => next.pdus.length > 0);
    next.send([...encodePData(1, true, storeCommand(2, '1.2.3.2')), ...encodePData(1, false, Buffer.alloc(3000, 2), 1006)]);
    await next.until(() => next.pdvs.some((p) => p.last));
    expect(parseCommand(next.pdvs[0].bytes)).toMatchObject({ Status: 0 });
    expect(stored.map((s) => [s.sopInstanceUid, Buffer.concat(s.dataset).length])).toEqual([['1.2.3.2', 3000]]);
    next.destroy();
  });
});
