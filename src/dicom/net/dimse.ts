import { createRequire } from 'node:module';
import dimse from 'dcmjs-dimse';
import { parseCommand, writeCommand } from './dimseCommand.js';

/**
 * The forwarding SCU on dcmjs-dimse: it sends a data set's bytes as they are (never parsed or
 * re-encoded by the library). The receiving side is Veil's own (scp.ts), re-exported here.
 */
const { Dataset, Scp, Client } = dimse;
const { CStoreRequest } = dimse.requests;
const { Status } = dimse.constants;

type DimseDataset = InstanceType<typeof Dataset>;

// the library logs data set contents at debug level; Veil logs no data values
dimse.log.setLevel('silent');

export { HEADER_ROOM, isReadableTransferSyntax, isStorageSopClass, startScp, STATUS, type ReceivedInstance, type ScpHandlers, type StoreOutcome } from './scp.js';

const IMPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2';

/**
 * A data set sent as the bytes Veil wrote. It is only ever proposed in its own transfer syntax
 * (see below), so the library never parses or transcodes it: a receiver that does not accept
 * that syntax gets nothing rather than a re-encoded copy. The bytes may be loaded only when the
 * request is sent (one instance in memory per association, not the whole batch).
 */
class RawDataset extends Dataset {
  constructor(private readonly bytes: Buffer | (() => Buffer), private readonly syntax: string, sopClassUid: string, sopInstanceUid: string) {
    super({ SOPClassUID: sopClassUid, SOPInstanceUID: sopInstanceUid }, syntax);
  }

  override getDenaturalizedDataset(): Buffer {
    if (this.getTransferSyntaxUid() !== this.syntax) throw new Error('refusing to transcode a de-identified data set');
    return typeof this.bytes === 'function' ? this.bytes() : this.bytes;
  }
}

// Every DIMSE exchange is a small command PDU answered by a small response: with Nagle's
// algorithm on (Node's default for net sockets) each C-STORE waits for the peer's delayed ACK,
// ≈ 40–90 ms per instance on loopback. TCP_NODELAY on every client association socket (scp.ts
// sets it on the sockets it accepts).
const networkProto = Object.getPrototypeOf(Scp.prototype) as { _wrapSocket(this: { socket?: { setNoDelay?(on: boolean): void } }): void };
const wrapSocket = networkProto._wrapSocket;
networkProto._wrapSocket = function (this: { socket?: { setNoDelay?(on: boolean): void } }) {
  this.socket?.setNoDelay?.(true);
  if (pduReaderInstalled) return wrapSocket.call(this);
  return installPduReaderDuring(() => wrapSocket.call(this));
};

/**
 * dcmjs-dimse reads PDUs with a small accumulator object that `_wrapSocket` makes per socket
 * (a class of its own, not exported, not the network's prototype): the reader below must go on
 * that class's prototype, or the library keeps joining every chunk. The class is found at the
 * first `_wrapSocket`: the accumulator subscribes to nothing, the network to its "pdu" event,
 * so the object whose "pdu" listener is added there, and which has `accumulate`, is one.
 */
let pduReaderInstalled = false;
function installPduReaderDuring<T>(wrap: () => T): T {
  const emitterProto = Object.getPrototypeOf(networkProto) as { on?: unknown };
  const hadOwnOn = Object.prototype.hasOwnProperty.call(emitterProto, 'on');
  const on = (emitterProto as { on(this: unknown, event: string, listener: unknown): unknown }).on;
  emitterProto.on = function (this: object, event: string, listener: unknown) {
    const proto = Object.getPrototypeOf(this) as { accumulate?: unknown; _process?: unknown };
    if (event === 'pdu' && !pduReaderInstalled && typeof proto.accumulate === 'function' && proto !== networkProto) {
      proto._process = readPduChunk;
      pduReaderInstalled = true;
    }
    return on.call(this, event, listener);
  };
  try {
    return wrap();
  } finally {
    if (hadOwnOn) emitterProto.on = on;
    else delete emitterProto.on;
  }
}

/** Whether the socket chunks of associations go through `readPduChunk` (true once an association was made). */
export function pduReaderInUse(): boolean {
  return pduReaderInstalled;
}

// PDUs gathered as a list of socket chunks (since the SCP is Veil's own, scp.ts, only the
// forwarding client's associations read through this: the receiver's responses). The library joined each new chunk onto what it had
// (Buffer.concat per chunk): a 256 KB PDU arriving in 64 KB chunks was copied 2.5 times, and the
// garbage was a large part of the main thread's time. A P-DATA-TF that spans chunks is not
// joined at all: its PDVs are cut at the chunk seams into fragments that are views of the socket
// chunks (see splitPData), so a received data set is copied once, into the listener's buffer.
// Any other PDU is joined once. Same PDU boundaries, same events, same refusal of an unknown
// PDU type.
interface PduAccumulator {
  receiving?: Buffer[];
  receivingBytes?: number;
  receivedLength?: number;
  minimumReceived?: Buffer;
  emit(event: string, value: unknown): boolean;
}
const PDU_TYPES = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);
const P_DATA_TF = 0x04;
/** The accumulator's `_process`: takes one socket chunk, emits the PDUs it completes, returns what is left of it. */
const readPduChunk = function (this: PduAccumulator, chunk: Buffer): Buffer | undefined {
  if (this.receiving === undefined) {
    if (this.minimumReceived) {
      chunk = Buffer.concat([this.minimumReceived, chunk]);
      this.minimumReceived = undefined;
    }
    if (chunk.length < 6) {
      this.minimumReceived = chunk;
      return undefined;
    }
    const type = chunk[0];
    if (!PDU_TYPES.has(type)) {
      this.emit('error', new Error(`Unknown PDU type: ${type}`));
      return undefined;
    }
    const length = chunk.readUInt32BE(2);
    if (length > chunk.length - 6) {
      this.receiving = [chunk];
      this.receivingBytes = chunk.length;
      this.receivedLength = length;
      return undefined;
    }
    this.emit('pdu', chunk.subarray(0, length + 6));
    return length + 6 < chunk.length ? chunk.subarray(length + 6) : undefined;
  }
  this.receiving.push(chunk);
  const bytes = (this.receivingBytes ?? 0) + chunk.length;
  const end = (this.receivedLength ?? 0) + 6;
  if (bytes < end) {
    this.receivingBytes = bytes;
    return undefined;
  }
  const chunks = this.receiving;
  this.receiving = undefined;
  this.receivingBytes = undefined;
  this.receivedLength = undefined;
  const split = chunks[0][0] === P_DATA_TF ? splitPData(chunks, end) : undefined;
  if (split) {
    this.emit('pdu', split);
    // the rest of the last chunk begins the next PDU
    const tail = chunk.length - (bytes - end);
    return tail < chunk.length ? chunk.subarray(tail) : undefined;
  }
  const whole = Buffer.concat(chunks, bytes);
  this.emit('pdu', whole.subarray(0, end));
  return end < whole.length ? whole.subarray(end) : undefined;
};
// also on the network's prototype, where the tests call it (test/dicom/net/dimsePdu.test.ts)
(networkProto as unknown as { _process: typeof readPduChunk })._process = readPduChunk;

/** A PDV as dcmjs-dimse's P-DATA-TF reader gives it (the methods _processPDataTf calls). */
export class PdvFragment {
  constructor(private readonly pcId: number, private readonly value: Buffer, private readonly command: boolean, private readonly last: boolean) {}
  getPresentationContextId(): number {
    return this.pcId;
  }
  getValue(): Buffer {
    return this.value;
  }
  isCommand(): boolean {
    return this.command;
  }
  isLastFragment(): boolean {
    return this.last;
  }
}

/** A P-DATA-TF read from socket chunks without joining them: its PDVs, cut at the seams. */
export class SplitPData {
  constructor(private readonly pdvs: PdvFragment[]) {}
  getPdvs(): PdvFragment[] {
    return this.pdvs;
  }
}

/**
 * The PDVs of the P-DATA-TF PDU that fills `chunks` up to `end` (PS3.8 9.3.5: PDV item length,
 * presentation context ID, message control header, value). A value that spans chunks becomes
 * several fragments in a row, views of the chunks, with the same context and command flag; only
 * the last of them keeps the "last fragment" bit, so the library's reader collects the same
 * bytes and acts at the same point. Undefined for items that do not fit the PDU (the library's
 * own reader then refuses the joined PDU as before).
 */
export function splitPData(chunks: readonly Buffer[], end: number): SplitPData | undefined {
  const starts: number[] = [];
  let total = 0;
  for (const chunk of chunks) {
    starts.push(total);
    total += chunk.length;
  }
  if (total < end) return undefined;
  let k = 0;
  const byteAt = (pos: number): number => {
    while (pos >= starts[k] + chunks[k].length) k++;
    while (pos < starts[k]) k--;
    return chunks[k][pos - starts[k]];
  };
  const pdvs: PdvFragment[] = [];
  for (let pos = 6; pos < end; ) {
    if (pos + 6 > end) return undefined;
    const length = ((byteAt(pos) << 24) | (byteAt(pos + 1) << 16) | (byteAt(pos + 2) << 8) | byteAt(pos + 3)) >>> 0;
    if (length < 2 || pos + 4 + length > end) return undefined;
    const pcId = byteAt(pos + 4);
    const control = byteAt(pos + 5);
    const command = (control & 1) === 1;
    const last = (control & 2) === 2;
    const from = pos + 6;
    const to = pos + 4 + length;
    if (from === to) pdvs.push(new PdvFragment(pcId, Buffer.alloc(0), command, last));
    for (let at = from; at < to; ) {
      byteAt(at);
      const chunkEnd = starts[k] + chunks[k].length;
      const stop = Math.min(to, chunkEnd);
      pdvs.push(new PdvFragment(pcId, chunks[k].subarray(at - starts[k], stop - starts[k]), command, last && stop === to));
      at = stop;
    }
    pos = to;
  }
  return new SplitPData(pdvs);
}

// A split P-DATA-TF goes straight to the library's P-DATA handling (what _processPdu does with
// a P-DATA-TF once it has read it); every other PDU the library's way.
{
  type ProcessPdu = (this: { _processPDataTf(pdu: SplitPData): Promise<void> }, pdu: unknown) => Promise<void>;
  const proto = networkProto as unknown as { _processPdu: ProcessPdu };
  const processPdu = proto._processPdu;
  proto._processPdu = function (pdu) {
    return pdu instanceof SplitPData ? this._processPDataTf(pdu) : processPdu.call(this, pdu);
  };
}

// P-DATA-TF written directly (PS3.8 9.3.5): per fragment a 12-byte header (PDU type and length,
// PDV length, presentation context, message control header) then the fragment as a view of the
// data set, the socket corked for the whole message. The library built each PDU in a growing
// SmartBuffer (three copies of every byte, and the garbage). Same bytes on the wire (tested).
interface PDataSender {
  socket: { cork(): void; uncork(): void; write(chunk: Uint8Array): boolean };
  statistics: { addBytesSent(bytes: number): void };
  datasetWriteOptions?: unknown;
  datasetNameMap?: unknown;
}
interface PDataRequest {
  getCommandDataset(): { getDenaturalizedCommandDataset(): Buffer };
  getDataset(): { getDenaturalizedDataset(options?: unknown, nameMap?: unknown): Buffer } | undefined;
}
type SendPDataTF = (this: PDataSender, request: PDataRequest, contextId: number, maxPduLength: number) => void;
const MAX_PDU_SENT = 4_194_304;
export const librarySendPDataTF = (networkProto as unknown as { _sendPDataTF: SendPDataTF })._sendPDataTF;
(networkProto as unknown as { _sendPDataTF: SendPDataTF })._sendPDataTF = function (request, contextId, maxPduLength) {
  const max = maxPduLength === 0 ? MAX_PDU_SENT : Math.min(maxPduLength, MAX_PDU_SENT);
  const send = (fragment: Buffer, command: boolean, last: boolean) => {
    const header = Buffer.allocUnsafe(12);
    header.writeUInt8(0x04, 0);
    header.writeUInt8(0, 1);
    header.writeUInt32BE(6 + fragment.length, 2);
    header.writeUInt32BE(2 + fragment.length, 6);
    header.writeUInt8(contextId, 10);
    header.writeUInt8((command ? 1 : 0) | (last ? 2 : 0), 11);
    this.socket.write(header);
    this.socket.write(fragment);
    this.statistics.addBytesSent(12 + fragment.length);
  };
  const command = request.getCommandDataset().getDenaturalizedCommandDataset();
  const dataset = request.getDataset()?.getDenaturalizedDataset(this.datasetWriteOptions, this.datasetNameMap);
  this.socket.cork();
  try {
    send(command, true, true);
    if (dataset) {
      const size = max - 6;
      for (let at = 0; at < dataset.length; at += size) send(dataset.subarray(at, at + size), false, at + size >= dataset.length);
    }
  } finally {
    this.socket.uncork();
  }
};

// Each command set arrives in a memorystream whose toBuffer() calls the deprecated `new
// Buffer(n)`: Node then looks for node_modules on the call stack (a captured stack trace, for
// its deprecation warning) on each of the first 10,000 calls, ≈ 0.25 ms of main-thread time per
// command. The same bytes by Buffer.concat.
{
  const require = createRequire(createRequire(import.meta.url).resolve('dcmjs-dimse'));
  const memoryStream = require('memorystream') as { createWriteStream(): object };
  const writableProto = Object.getPrototypeOf(memoryStream.createWriteStream()) as { toBuffer(this: { queue: (Buffer | string)[] }): Buffer };
  writableProto.toBuffer = function () {
    return Buffer.concat(this.queue.map((data) => (Buffer.isBuffer(data) ? data : Buffer.from(data))));
  };
}

// Command sets (group 0000, a few dozen bytes each) read and written directly, not through
// dcmjs's general codec: ≈ 2 ms less main-thread time per command (see dimseCommand.ts); any
// command the direct codec does not know goes the library's way.
const datasetProto = Dataset.prototype as unknown as {
  _fromElementsBuffer(this: DimseDataset, bytes: Buffer, syntax: string, options: unknown): Record<string, unknown>;
  getDenaturalizedCommandDataset(this: DimseDataset, options?: unknown): Buffer;
};
const readElements = datasetProto._fromElementsBuffer;
datasetProto._fromElementsBuffer = function (bytes, syntax, options) {
  return (syntax === IMPLICIT_LITTLE_ENDIAN ? parseCommand(bytes) : undefined) ?? readElements.call(this, bytes, syntax, options);
};
const writeCommandSet = datasetProto.getDenaturalizedCommandDataset;
datasetProto.getDenaturalizedCommandDataset = function (options) {
  return (options === undefined ? writeCommand(this.getElements() as Record<string, unknown>) : undefined) ?? writeCommandSet.call(this, options);
};

// dcmjs-dimse proposes every C-STORE in Implicit and Explicit VR Little Endian and transcodes
// when the receiver picks the other one; a raw data set is proposed in its own syntax only
const associationProto = dimse.association.Association.prototype;
const proposeFromRequest = associationProto.addPresentationContextFromRequest;
associationProto.addPresentationContextFromRequest = function (this: InstanceType<typeof dimse.association.Association>, request, syntaxes) {
  const dataset = request.getDataset();
  if (!(dataset instanceof RawDataset)) return proposeFromRequest.call(this, request, syntaxes);
  const sopClass = String(dataset.getElement('SOPClassUID'));
  const syntax = dataset.getTransferSyntaxUid();
  const existing = this.findPresentationContextByAbstractSyntaxAndTransferSyntax(sopClass, syntax);
  if (existing !== undefined) return existing;
  const id = this.addPresentationContext(sopClass);
  this.addTransferSyntaxToPresentationContext(id, syntax);
  return id;
};

export interface OutgoingInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /**
   * The data set bytes, or a function that gives them when the request is sent (called once per
   * attempt; the requests of one association are sent one after the other, each once the
   * previous was answered, so a loader may reuse its buffer).
   */
  dataset: Buffer | (() => Buffer);
  /** Called once the receiver confirmed it (status success or warning), before the next request is sent. */
  onStored(): void;
}

export interface Destination {
  aeTitle: string;
  host: string;
  port: number;
  callingAeTitle: string;
}

/** Sends instances over one association; resolves with how many the receiver confirmed. */
export function sendInstances(destination: Destination, instances: readonly OutgoingInstance[]): Promise<{ stored: number; failed: number }> {
  return new Promise((resolve) => {
    const client = new Client();
    let stored = 0;
    for (const instance of instances) {
      const request = new CStoreRequest(new RawDataset(instance.dataset, instance.transferSyntaxUid, instance.sopClassUid, instance.sopInstanceUid));
      request.on('response', (response: { getStatus(): number }) => {
        const status = response.getStatus();
        // 0xB000, 0xB007, 0xB006: stored with a warning
        if (status === Status.Success || (status & 0xf000) === 0xb000) {
          stored++;
          instance.onStored();
        }
      });
      client.addRequest(request);
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve({ stored, failed: instances.length - stored });
    };
    client.on('closed', finish);
    client.on('networkError', finish);
    client.on('associationRejected', finish);
    client.send(destination.host, destination.port, destination.callingAeTitle, destination.aeTitle, { connectTimeout: 10_000, associationTimeout: 30_000, pduTimeout: 60_000 });
  });
}

/** Sends a C-ECHO; resolves true when the peer answers with success. */
export function echo(destination: Destination): Promise<boolean> {
  return new Promise((resolve) => {
    const client = new Client();
    const request = new dimse.requests.CEchoRequest();
    let ok = false;
    request.on('response', (response: { getStatus(): number }) => {
      ok = response.getStatus() === Status.Success;
    });
    client.addRequest(request);
    client.on('closed', () => resolve(ok));
    client.on('networkError', () => resolve(false));
    client.on('associationRejected', () => resolve(false));
    client.send(destination.host, destination.port, destination.callingAeTitle, destination.aeTitle, { connectTimeout: 5_000 });
  });
}
