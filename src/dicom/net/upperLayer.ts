/**
 * The DICOM upper layer's PDUs (PS3.8 9.3): encoders and decoders for the association PDUs, and
 * a reader that frames a TCP byte stream into PDUs without joining P-DATA-TF: their PDV values
 * come out as views of the socket chunks, so a data set can be copied once, straight into its
 * destination. No I/O here; src/dicom/net/scp.ts drives it from a socket.
 */

export const PDU_TYPE = {
  associateRequest: 0x01,
  associateAccept: 0x02,
  associateReject: 0x03,
  dataTransfer: 0x04,
  releaseRequest: 0x05,
  releaseResponse: 0x06,
  abort: 0x07,
} as const;

/** The DICOM application context name (PS3.7 A.2.1), the only one there is. */
export const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
/** The Verification SOP class (C-ECHO), accepted by the SCP and asked for by the SCU. */
export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';
/** The largest P-DATA-TF Veil asks a peer to send it, as SCP and as SCU (as dcmjs-dimse asked). */
export const MAX_PDU_RECEIVED = 262_144;
/** Any PDU longer than this ends the association (P-DATA-TF are read as they arrive, not kept). */
export const MAX_PDU_ACCEPTED = 16 * 1024 * 1024;

/** Presentation context results of an A-ASSOCIATE-AC (PS3.8 9.3.3.2). */
export const CONTEXT_RESULT = {
  acceptance: 0,
  userRejection: 1,
  noReason: 2,
  abstractSyntaxNotSupported: 3,
  transferSyntaxesNotSupported: 4,
} as const;

/** A-ABORT sources and reasons (PS3.8 9.3.8). */
export const ABORT_SOURCE = { serviceUser: 0, serviceProvider: 2 } as const;
export const ABORT_REASON = {
  notSpecified: 0,
  unrecognizedPdu: 1,
  unexpectedPdu: 2,
  unrecognizedPduParameter: 4,
  unexpectedPduParameter: 5,
  invalidPduParameterValue: 6,
} as const;

/** A-ASSOCIATE-RJ result, source and reason (PS3.8 9.3.4). */
export const REJECT = {
  permanent: 1,
  transient: 2,
  sourceServiceUser: 1,
  sourceServiceProviderAcse: 2,
  sourceServiceProviderPresentation: 3,
  noReasonGiven: 1,
  applicationContextNotSupported: 2,
  callingAeNotRecognized: 3,
  calledAeNotRecognized: 7,
  protocolVersionNotSupported: 2,
} as const;

/** A PDU that does not follow PS3.8: the association is aborted with `reason`. */
export class PduError extends Error {
  constructor(message: string, readonly reason: number = ABORT_REASON.invalidPduParameterValue) {
    super(message);
    this.name = 'PduError';
  }
}

export interface ProposedContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

export interface AssociateRequest {
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  contexts: ProposedContext[];
  /** The largest P-DATA-TF the requestor receives (0: no limit). */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersion: string;
}

export interface ContextResult {
  id: number;
  result: number;
  /** The accepted transfer syntax; ignored by the requestor when the context is rejected. */
  transferSyntax: string;
}

export interface AssociateAccept {
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  contexts: ContextResult[];
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersion: string;
}

const ITEM = {
  applicationContext: 0x10,
  proposedContext: 0x20,
  acceptedContext: 0x21,
  abstractSyntax: 0x30,
  transferSyntax: 0x40,
  userInformation: 0x50,
  maxLength: 0x51,
  implementationClassUid: 0x52,
  implementationVersion: 0x55,
} as const;

// ---- decoding -------------------------------------------------------------------------------

interface Item {
  type: number;
  value: Buffer;
}

/** The items of a variable field (type, reserved, 16-bit length, value), refused when one does not fit. */
function itemsOf(bytes: Buffer, what: string): Item[] {
  const items: Item[] = [];
  for (let at = 0; at < bytes.length; ) {
    if (at + 4 > bytes.length) throw new PduError(`truncated item in ${what}`);
    const length = bytes.readUInt16BE(at + 2);
    if (at + 4 + length > bytes.length) throw new PduError(`item longer than its ${what}`);
    items.push({ type: bytes[at], value: bytes.subarray(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  return items;
}

/** A UID or AE title: trailing NULs and surrounding spaces are padding. */
function textOf(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/\0+$/, '').trim();
}

function userInformationOf(items: Item[]): { maxPduLength: number; implementationClassUid: string; implementationVersion: string } {
  const info = { maxPduLength: 0, implementationClassUid: '', implementationVersion: '' };
  const user = items.find((i) => i.type === ITEM.userInformation);
  if (!user) return info;
  for (const sub of itemsOf(user.value, 'user information')) {
    if (sub.type === ITEM.maxLength) {
      if (sub.value.length !== 4) throw new PduError('maximum length item is not 4 bytes');
      info.maxPduLength = sub.value.readUInt32BE(0);
    } else if (sub.type === ITEM.implementationClassUid) info.implementationClassUid = textOf(sub.value);
    else if (sub.type === ITEM.implementationVersion) info.implementationVersion = textOf(sub.value);
    // other sub-items (asynchronous operations, role selection, extended negotiation, user
    // identity) are not negotiated: leaving them out of the answer declines them (PS3.7 D.3.3)
  }
  return info;
}

/** The fixed part of A-ASSOCIATE-RQ/AC (PS3.8 9.3.2): version, reserved, called and calling AE, 32 reserved. */
function fixedFieldsOf(body: Buffer, what: string): { protocolVersion: number; calledAeTitle: string; callingAeTitle: string; items: Item[] } {
  if (body.length < 68) throw new PduError(`${what} shorter than its fixed fields`);
  return {
    protocolVersion: body.readUInt16BE(0),
    calledAeTitle: textOf(body.subarray(4, 20)),
    callingAeTitle: textOf(body.subarray(20, 36)),
    items: itemsOf(body.subarray(68), what),
  };
}

/** An A-ASSOCIATE-RQ from its body (the bytes after the 6-byte PDU header). */
export function decodeAssociateRequest(body: Buffer): AssociateRequest {
  const { protocolVersion, calledAeTitle, callingAeTitle, items } = fixedFieldsOf(body, 'A-ASSOCIATE-RQ');
  const context = items.find((i) => i.type === ITEM.applicationContext);
  if (!context) throw new PduError('A-ASSOCIATE-RQ without an application context', ABORT_REASON.invalidPduParameterValue);
  const contexts: ProposedContext[] = [];
  for (const item of items) {
    if (item.type !== ITEM.proposedContext) continue;
    if (item.value.length < 4) throw new PduError('truncated presentation context');
    const proposed: ProposedContext = { id: item.value[0], abstractSyntax: '', transferSyntaxes: [] };
    for (const sub of itemsOf(item.value.subarray(4), 'presentation context')) {
      if (sub.type === ITEM.abstractSyntax) proposed.abstractSyntax = textOf(sub.value);
      else if (sub.type === ITEM.transferSyntax) proposed.transferSyntaxes.push(textOf(sub.value));
    }
    contexts.push(proposed);
  }
  return { protocolVersion, calledAeTitle, callingAeTitle, applicationContext: textOf(context.value), contexts, ...userInformationOf(items) };
}

/** An A-ASSOCIATE-AC from its body. */
export function decodeAssociateAccept(body: Buffer): AssociateAccept {
  const { calledAeTitle, callingAeTitle, items } = fixedFieldsOf(body, 'A-ASSOCIATE-AC');
  const context = items.find((i) => i.type === ITEM.applicationContext);
  const contexts: ContextResult[] = [];
  for (const item of items) {
    if (item.type !== ITEM.acceptedContext) continue;
    if (item.value.length < 4) throw new PduError('truncated presentation context');
    const syntax = itemsOf(item.value.subarray(4), 'presentation context').find((s) => s.type === ITEM.transferSyntax);
    contexts.push({ id: item.value[0], result: item.value[2], transferSyntax: syntax ? textOf(syntax.value) : '' });
  }
  return { calledAeTitle, callingAeTitle, applicationContext: context ? textOf(context.value) : '', contexts, ...userInformationOf(items) };
}

/** The result, source and reason of an A-ASSOCIATE-RJ, or of an A-ABORT (source, reason). */
export function decodeReject(body: Buffer): { result: number; source: number; reason: number } {
  if (body.length !== 4) throw new PduError('A-ASSOCIATE-RJ is not 4 bytes');
  return { result: body[1], source: body[2], reason: body[3] };
}

export function decodeAbort(body: Buffer): { source: number; reason: number } {
  if (body.length !== 4) throw new PduError('A-ABORT is not 4 bytes');
  return { source: body[2], reason: body[3] };
}

// ---- encoding -------------------------------------------------------------------------------

function pdu(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(6 + body.length);
  out[0] = type;
  out[1] = 0;
  out.writeUInt32BE(body.length, 2);
  body.copy(out, 6);
  return out;
}

function item(type: number, value: Buffer): Buffer {
  if (value.length > 0xffff) throw new RangeError('item value longer than 65535 bytes');
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value]);
}

/** A UID as an item value: PS3.8 9.3.2.2 wants UIDs unpadded (no trailing NUL). */
function uidItem(type: number, uid: string): Buffer {
  return item(type, Buffer.from(uid, 'latin1'));
}

/** An AE title field: 16 bytes, padded with spaces. */
function aeField(title: string): Buffer {
  return Buffer.from(title.slice(0, 16).padEnd(16, ' '), 'latin1');
}

function fixedFields(calledAeTitle: string, callingAeTitle: string): Buffer {
  const out = Buffer.alloc(68);
  out.writeUInt16BE(1, 0);
  aeField(calledAeTitle).copy(out, 4);
  aeField(callingAeTitle).copy(out, 20);
  return out;
}

function userInformation(maxPduLength: number, implementationClassUid: string, implementationVersion: string): Buffer {
  const max = Buffer.alloc(4);
  max.writeUInt32BE(maxPduLength, 0);
  const subs = [item(ITEM.maxLength, max), uidItem(ITEM.implementationClassUid, implementationClassUid)];
  if (implementationVersion) subs.push(item(ITEM.implementationVersion, Buffer.from(implementationVersion.slice(0, 16), 'latin1')));
  return item(ITEM.userInformation, Buffer.concat(subs));
}

export function encodeAssociateRequest(request: AssociateRequest): Buffer {
  const contexts = request.contexts.map((c) =>
    item(ITEM.proposedContext, Buffer.concat([Buffer.from([c.id, 0, 0, 0]), uidItem(ITEM.abstractSyntax, c.abstractSyntax), ...c.transferSyntaxes.map((t) => uidItem(ITEM.transferSyntax, t))])),
  );
  return associatePdu(PDU_TYPE.associateRequest, request, contexts);
}

export function encodeAssociateAccept(accept: AssociateAccept): Buffer {
  const contexts = accept.contexts.map((c) => item(ITEM.acceptedContext, Buffer.concat([Buffer.from([c.id, 0, c.result, 0]), uidItem(ITEM.transferSyntax, c.transferSyntax)])));
  return associatePdu(PDU_TYPE.associateAccept, accept, contexts);
}

/** An A-ASSOCIATE-RQ or -AC: the same fixed fields, application context and user information around their context items. */
function associatePdu(type: number, fields: Omit<AssociateAccept, 'contexts'>, contexts: readonly Buffer[]): Buffer {
  return pdu(
    type,
    Buffer.concat([
      fixedFields(fields.calledAeTitle, fields.callingAeTitle),
      uidItem(ITEM.applicationContext, fields.applicationContext),
      ...contexts,
      userInformation(fields.maxPduLength, fields.implementationClassUid, fields.implementationVersion),
    ]),
  );
}

export function encodeAssociateReject(result: number, source: number, reason: number): Buffer {
  return pdu(PDU_TYPE.associateReject, Buffer.from([0, result, source, reason]));
}

export function encodeReleaseRequest(): Buffer {
  return pdu(PDU_TYPE.releaseRequest, Buffer.alloc(4));
}

export function encodeReleaseResponse(): Buffer {
  return pdu(PDU_TYPE.releaseResponse, Buffer.alloc(4));
}

export function encodeAbort(source: number, reason: number): Buffer {
  return pdu(PDU_TYPE.abort, Buffer.from([0, 0, source, reason]));
}

/**
 * A message (command set or data set) as P-DATA-TF PDUs of one PDV each, none longer than
 * `maxPduLength` (0: no limit); the last one carries the "last fragment" bit (PS3.8 E.2).
 */
export function encodePData(contextId: number, command: boolean, value: Buffer, maxPduLength = 0): Buffer[] {
  const size = maxPduLength > 12 ? maxPduLength - 6 : Math.max(value.length, 1);
  const out: Buffer[] = [];
  for (let at = 0; at < value.length || at === 0; at += size) {
    const fragment = value.subarray(at, at + size);
    const last = at + size >= value.length;
    const head = Buffer.allocUnsafe(12);
    head[0] = PDU_TYPE.dataTransfer;
    head[1] = 0;
    head.writeUInt32BE(6 + fragment.length, 2);
    head.writeUInt32BE(2 + fragment.length, 6);
    head[10] = contextId;
    head[11] = (command ? 1 : 0) | (last ? 2 : 0);
    out.push(head, fragment);
    if (value.length === 0) break;
  }
  return out;
}

// ---- framing --------------------------------------------------------------------------------

/** What the reader hands on. */
export interface PduSink {
  /** A whole PDU other than P-DATA-TF: its type and body (a buffer of its own). */
  pdu(type: number, body: Buffer): void;
  /**
   * A piece of a PDV value, as a view of a socket chunk (valid only during the call): a PDV
   * spread over several chunks comes in several pieces, and only the last piece of a PDV
   * whose message control header says "last fragment" has `last` set.
   */
  pdv(contextId: number, command: boolean, last: boolean, bytes: Buffer): void;
  /** The stream does not follow PS3.8: nothing more is read. */
  malformed(error: PduError): void;
}

const EMPTY = Buffer.alloc(0);
const State = { PduHeader: 0, PduBody: 1, PdvHeader: 2, PdvValue: 3, Stopped: 4 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Frames a byte stream into PDUs (PS3.8 9.3.1: type, reserved, 32-bit length). Any PDU longer
 * than `maxPduLength` is refused (an A-ASSOCIATE-RQ with a hundred contexts is a few KB; a
 * P-DATA-TF is not kept but read as it arrives, so the bound only has to cover what senders
 * may use). Headers that span chunks are gathered in small fixed buffers.
 */
export class PduReader {
  private state: State = State.PduHeader;
  private readonly head = Buffer.alloc(6);
  private headFill = 0;
  private type = 0;
  private body: Buffer = EMPTY;
  private bodyFill = 0;
  /** Bytes of the current P-DATA-TF not yet read. */
  private pduLeft = 0;
  /** Bytes of the current PDV value not yet read. */
  private valueLeft = 0;
  private contextId = 0;
  private command = false;
  private lastFragment = false;

  constructor(private readonly sink: PduSink, private readonly maxPduLength: number) {}

  /** Stops reading (the association is over); later chunks are ignored. */
  stop(): void {
    this.state = State.Stopped;
    this.body = EMPTY;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.state !== State.Stopped) {
      switch (this.state) {
        case State.PduHeader:
        case State.PdvHeader: {
          const take = Math.min(6 - this.headFill, chunk.length - at);
          chunk.copy(this.head, this.headFill, at, at + take);
          this.headFill += take;
          at += take;
          if (this.headFill === 6) {
            this.headFill = 0;
            if (this.state === State.PduHeader) this.startPdu();
            else this.startPdv();
          }
          break;
        }
        case State.PduBody: {
          const take = Math.min(this.body.length - this.bodyFill, chunk.length - at);
          chunk.copy(this.body, this.bodyFill, at, at + take);
          this.bodyFill += take;
          at += take;
          if (this.bodyFill === this.body.length) this.endPdu();
          break;
        }
        case State.PdvValue: {
          const take = Math.min(this.valueLeft, chunk.length - at);
          this.valueLeft -= take;
          this.pduLeft -= take;
          const piece = chunk.subarray(at, at + take);
          at += take;
          if (this.valueLeft === 0 && !this.afterPdv()) break;
          this.sink.pdv(this.contextId, this.command, this.lastFragment && this.valueLeft === 0, piece);
          break;
        }
      }
    }
  }

  private fail(error: PduError): void {
    this.stop();
    this.sink.malformed(error);
  }

  private startPdu(): void {
    const type = this.head[0];
    const length = this.head.readUInt32BE(2);
    if (type < PDU_TYPE.associateRequest || type > PDU_TYPE.abort) return this.fail(new PduError(`unknown PDU type 0x${type.toString(16).padStart(2, '0')}`, ABORT_REASON.unrecognizedPdu));
    if (length > this.maxPduLength) return this.fail(new PduError(`PDU of ${length} bytes, longer than ${this.maxPduLength}`));
    if (type === PDU_TYPE.dataTransfer) {
      if (length < 6) return this.fail(new PduError('P-DATA-TF without a whole PDV'));
      this.pduLeft = length;
      this.state = State.PdvHeader;
      return;
    }
    this.type = type;
    this.body = length === 0 ? EMPTY : Buffer.allocUnsafe(length);
    this.bodyFill = 0;
    this.state = State.PduBody;
    if (length === 0) this.endPdu();
  }

  private endPdu(): void {
    const body = this.body;
    this.body = EMPTY;
    this.state = State.PduHeader;
    this.sink.pdu(this.type, body);
  }

  private startPdv(): void {
    const itemLength = this.head.readUInt32BE(0);
    this.pduLeft -= 6;
    if (itemLength < 2 || itemLength - 2 > this.pduLeft) return this.fail(new PduError('PDV item longer than its P-DATA-TF'));
    this.contextId = this.head[4];
    const control = this.head[5];
    this.command = (control & 1) === 1;
    this.lastFragment = (control & 2) === 2;
    this.valueLeft = itemLength - 2;
    if (this.valueLeft > 0) {
      this.state = State.PdvValue;
      return;
    }
    if (this.afterPdv()) this.sink.pdv(this.contextId, this.command, this.lastFragment, EMPTY);
  }

  /** Once a PDV is read: the next PDV or the next PDU; false (and stopped) when the P-DATA-TF has less left than a PDV header. */
  private afterPdv(): boolean {
    if (this.pduLeft > 0 && this.pduLeft < 6) {
      this.fail(new PduError('P-DATA-TF ends inside a PDV header'));
      return false;
    }
    this.state = this.pduLeft === 0 ? State.PduHeader : State.PdvHeader;
    return true;
  }
}
