import { createServer, type Socket } from 'node:net';
import { BufferPool } from './bufferPool.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from '../marking.js';
import { parseCommand, writeCommand } from './dimseCommand.js';
import {
  ABORT_REASON,
  ABORT_SOURCE,
  APPLICATION_CONTEXT,
  CONTEXT_RESULT,
  decodeAssociateRequest,
  encodeAbort,
  encodeAssociateAccept,
  encodeAssociateReject,
  encodePData,
  encodeReleaseResponse,
  PDU_TYPE,
  PduError,
  PduReader,
  REJECT,
  type AssociateRequest,
  type ContextResult,
  MAX_PDU_ACCEPTED,
  MAX_PDU_RECEIVED,
  VERIFICATION_SOP_CLASS,
} from './upperLayer.js';

/**
 * Veil's C-STORE SCP on its own upper layer (PS3.8) and DIMSE (PS3.7) code: one association per
 * socket, C-ECHO and C-STORE. A data set's P-DATA fragments are copied straight from the socket
 * chunks into one pooled buffer (after HEADER_ROOM free bytes), handed over as received (never
 * parsed here), and answered only once the listener's `onStore` resolves. dcmjs-dimse cost
 * ≈ 3 ms of main-thread time per instance on receipt (its request objects, streams and event
 * emitters); the forwarding SCU (dimse.ts) still uses it.
 */

/** One received C-STORE: the data set bytes in the negotiated transfer syntax. */
export interface ReceivedInstance {
  callingAeTitle: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The data set as the P-DATA fragments brought it, in one buffer of the receive pool. */
  dataset: readonly Buffer[];
  /**
   * Free bytes right before the data set in its buffer (`buffer.subarray(0, start)`), where a
   * file meta header can be written so that header and data set are one view without a copy.
   */
  room?: { buffer: Buffer; start: number };
}

/** The outcome the listener returns to the sender: 0x0000 success, 0xA7xx/0xC000… failures. */
export interface StoreOutcome {
  status: number;
  /** Sent as ErrorComment (64 characters at most); never a data value. */
  comment?: string;
}

export interface ScpHandlers {
  calledAeTitle: string;
  /** Calling AE titles let in; empty: every calling AE title. */
  allowedCallers: readonly string[];
  onAssociation(callingAeTitle: string, accepted: boolean, reason: string): void;
  /** Answered only once it resolves: the listener resolves after the instance is durable. */
  onStore(instance: ReceivedInstance): StoreOutcome | Promise<StoreOutcome>;
}

export const STATUS = {
  success: 0x0000,
  outOfResources: 0xa700,
  cannotUnderstand: 0xc000,
  datasetMismatch: 0xa900,
  /** PS3.7 C.4.2: the command is not one this SCP performs. */
  unrecognizedOperation: 0x0211,
} as const;

const STORAGE_PREFIX = '1.2.840.10008.5.1.4.1.1.';
/** A command set is a few hundred bytes; one larger than this is refused. */
const MAX_COMMAND_BYTES = 64 * 1024;
/** Association request and PDU idle timeouts, as dcmjs-dimse was given. */
const ASSOCIATION_TIMEOUT_MS = 60_000;
const PDU_TIMEOUT_MS = 60_000;

const COMMAND = { storeRequest: 0x0001, echoRequest: 0x0030, cancelRequest: 0x0fff, response: 0x8000 } as const;
const NO_DATASET = 0x0101;

/** Storage SOP classes Veil de-identifies: the standard's storage classes (any of them: Veil reads every data set). */
export function isStorageSopClass(uid: string): boolean {
  return uid.startsWith(STORAGE_PREFIX);
}

/** Transfer syntaxes Veil reads: the standard's (native, deflated and encapsulated), not private ones. */
export function isReadableTransferSyntax(uid: string): boolean {
  return uid === '1.2.840.10008.1.2' || uid.startsWith('1.2.840.10008.1.2.');
}

/** Bytes kept free before a received data set, for its file meta header (≈ 200 bytes). */
export const HEADER_ROOM = 1024;
const receivePool = new BufferPool();

/** The answer to an A-ASSOCIATE-RQ: accepted with a result per context, or rejected (PS3.8 9.3.3–9.3.4). */
export type AssociationAnswer =
  | { accepted: true; contexts: ContextResult[] }
  | { accepted: false; result: number; source: number; reason: number; why: string };

/**
 * The SCP's negotiation: the called AE title must be ours, the calling one allowed; each
 * context is accepted for Verification and storage SOP classes with the sender's first
 * transfer syntax that Veil reads (the data set travels as stored, not transcoded).
 */
export function answerAssociation(request: AssociateRequest, calledAeTitle: string, allowedCallers: readonly string[]): AssociationAnswer {
  if ((request.protocolVersion & 1) === 0) {
    return { accepted: false, result: REJECT.permanent, source: REJECT.sourceServiceProviderAcse, reason: REJECT.protocolVersionNotSupported, why: 'protocol version not supported' };
  }
  if (request.calledAeTitle !== calledAeTitle) {
    return { accepted: false, result: REJECT.permanent, source: REJECT.sourceServiceUser, reason: REJECT.calledAeNotRecognized, why: 'called AE title is not ours' };
  }
  if (allowedCallers.length > 0 && !allowedCallers.includes(request.callingAeTitle)) {
    return { accepted: false, result: REJECT.permanent, source: REJECT.sourceServiceUser, reason: REJECT.callingAeNotRecognized, why: 'calling AE title not allowed (dicom.network.allowCallingAeTitles, --allow-ae)' };
  }
  if (request.applicationContext !== APPLICATION_CONTEXT) {
    return { accepted: false, result: REJECT.permanent, source: REJECT.sourceServiceUser, reason: REJECT.applicationContextNotSupported, why: 'application context not supported' };
  }
  const contexts = request.contexts.map((context): ContextResult => {
    const fallback = context.transferSyntaxes[0] ?? '1.2.840.10008.1.2';
    if (context.abstractSyntax !== VERIFICATION_SOP_CLASS && !isStorageSopClass(context.abstractSyntax)) {
      return { id: context.id, result: CONTEXT_RESULT.abstractSyntaxNotSupported, transferSyntax: fallback };
    }
    const syntax = context.transferSyntaxes.find(isReadableTransferSyntax);
    return syntax ? { id: context.id, result: CONTEXT_RESULT.acceptance, transferSyntax: syntax } : { id: context.id, result: CONTEXT_RESULT.transferSyntaxesNotSupported, transferSyntax: fallback };
  });
  return { accepted: true, contexts };
}

/** The few fields of a command set the SCP answers by, read from group 0000 (Implicit VR Little Endian). */
interface Command {
  field: number;
  messageId: number;
  hasDataset: boolean;
  sopClassUid: string;
  sopInstanceUid: string;
}

function commandOf(bytes: Buffer): Command | undefined {
  const parsed = parseCommand(bytes);
  if (parsed) {
    const { CommandField, MessageID, CommandDataSetType, AffectedSOPClassUID, AffectedSOPInstanceUID } = parsed;
    if (typeof CommandField !== 'number' || typeof MessageID !== 'number') return undefined;
    return {
      field: CommandField,
      messageId: MessageID,
      hasDataset: CommandDataSetType !== NO_DATASET,
      sopClassUid: typeof AffectedSOPClassUID === 'string' ? AffectedSOPClassUID : '',
      sopInstanceUid: typeof AffectedSOPInstanceUID === 'string' ? AffectedSOPInstanceUID : '',
    };
  }
  // a command with elements dimseCommand.ts does not know (C-FIND, C-MOVE, N-…): only what the
  // "unrecognized operation" answer needs
  let field: number | undefined;
  let messageId: number | undefined;
  let dataSetType: number | undefined;
  for (let at = 0; at + 8 <= bytes.length; ) {
    const group = bytes.readUInt16LE(at);
    const element = bytes.readUInt16LE(at + 2);
    const length = bytes.readUInt32LE(at + 4);
    if (group !== 0 || at + 8 + length > bytes.length) return undefined;
    if (length === 2 && element === 0x0100) field = bytes.readUInt16LE(at + 8);
    else if (length === 2 && element === 0x0110) messageId = bytes.readUInt16LE(at + 8);
    else if (length === 2 && element === 0x0800) dataSetType = bytes.readUInt16LE(at + 8);
    at += 8 + length;
  }
  if (field === undefined || messageId === undefined) return undefined;
  return { field, messageId, hasDataset: dataSetType !== undefined && dataSetType !== NO_DATASET, sopClassUid: '', sopInstanceUid: '' };
}

/** The response command set to `command` (PS3.7 9.3.1.2, 9.3.5.2), with its status. */
function responseTo(command: Command, status: number, comment?: string): Buffer | undefined {
  const elements: Record<string, unknown> = {
    CommandField: command.field | COMMAND.response,
    MessageIDBeingRespondedTo: command.messageId,
    CommandDataSetType: NO_DATASET,
    Status: status,
  };
  if (command.sopClassUid) elements.AffectedSOPClassUID = command.sopClassUid;
  if (command.sopInstanceUid) elements.AffectedSOPInstanceUID = command.sopInstanceUid;
  if (comment) elements.ErrorComment = comment.slice(0, 64);
  // a comment writeCommand refuses (not printable ASCII) is left out rather than the answer
  return writeCommand(elements) ?? (comment ? responseTo(command, status) : undefined);
}

/** One association on one socket: negotiation, then DIMSE messages one after the other. */
class Association {
  private readonly reader: PduReader;
  private associated = false;
  private ended = false;
  private calling = '';
  /** Accepted presentation contexts: id → transfer syntax. */
  private readonly contexts = new Map<number, string>();
  /** The largest PDU the peer receives (0: no limit). */
  private peerMaxPdu = 0;
  // the message being received
  private commandPieces: Buffer[] = [];
  private commandBytes = 0;
  private awaiting: { command: Command; contextId: number } | undefined;
  private data: Buffer | undefined;
  private dataLength = 0;
  /** C-STOREs handed to the listener and not yet answered. */
  private answering = 0;
  private releaseRequested = false;
  private readonly associationTimer: NodeJS.Timeout;

  constructor(private readonly socket: Socket, private readonly handlers: ScpHandlers) {
    this.reader = new PduReader(
      {
        pdu: (type, body) => this.onPdu(type, body),
        pdv: (contextId, command, last, bytes) => this.onPdv(contextId, command, last, bytes),
        malformed: (error) => this.abort(error.reason),
      },
      MAX_PDU_ACCEPTED,
    );
    socket.setNoDelay(true);
    socket.setTimeout(PDU_TIMEOUT_MS, () => this.abort(ABORT_REASON.notSpecified));
    this.associationTimer = setTimeout(() => {
      if (!this.associated) this.abort(ABORT_REASON.notSpecified);
    }, ASSOCIATION_TIMEOUT_MS);
    this.associationTimer.unref();
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    // a peer that drops or garbles its association only ends that association
    socket.on('error', () => this.end());
    socket.on('close', () => this.end());
  }

  private onPdu(type: number, body: Buffer): void {
    try {
      if (type === PDU_TYPE.associateRequest && !this.associated) return this.onAssociateRequest(body);
      if (type === PDU_TYPE.releaseRequest && this.associated) {
        this.releaseRequested = true;
        return this.maybeRelease();
      }
      if (type === PDU_TYPE.abort) return this.destroy();
      this.abort(ABORT_REASON.unexpectedPdu);
    } catch (error) {
      this.abort(error instanceof PduError ? error.reason : ABORT_REASON.notSpecified);
    }
  }

  private onAssociateRequest(body: Buffer): void {
    const request = decodeAssociateRequest(body);
    this.calling = request.callingAeTitle;
    const answer = answerAssociation(request, this.handlers.calledAeTitle, this.handlers.allowedCallers);
    if (!answer.accepted) {
      this.handlers.onAssociation(this.calling, false, answer.why);
      this.reader.stop();
      this.socket.end(encodeAssociateReject(answer.result, answer.source, answer.reason));
      this.end();
      return;
    }
    for (const context of answer.contexts) if (context.result === CONTEXT_RESULT.acceptance) this.contexts.set(context.id, context.transferSyntax);
    this.peerMaxPdu = request.maxPduLength;
    this.associated = true;
    clearTimeout(this.associationTimer);
    this.handlers.onAssociation(this.calling, true, 'accepted');
    this.socket.write(
      encodeAssociateAccept({
        calledAeTitle: request.calledAeTitle,
        callingAeTitle: request.callingAeTitle,
        applicationContext: APPLICATION_CONTEXT,
        contexts: answer.contexts,
        maxPduLength: MAX_PDU_RECEIVED,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersion: IMPLEMENTATION_VERSION,
      }),
    );
  }

  private onPdv(contextId: number, command: boolean, last: boolean, bytes: Buffer): void {
    // P-DATA before the association or after a release request, or on a context not accepted
    if (!this.associated || this.releaseRequested || !this.contexts.has(contextId)) return this.abort(ABORT_REASON.unexpectedPduParameter);
    if (command) {
      if (this.awaiting || this.commandBytes + bytes.length > MAX_COMMAND_BYTES) return this.abort(ABORT_REASON.unexpectedPduParameter);
      // copied: the piece is a view of a socket chunk
      if (bytes.length > 0) this.commandPieces.push(Buffer.from(bytes));
      this.commandBytes += bytes.length;
      if (last) this.onCommand(contextId);
      return;
    }
    if (!this.awaiting || this.awaiting.contextId !== contextId) return this.abort(ABORT_REASON.unexpectedPduParameter);
    if (this.awaiting.command.field === COMMAND.storeRequest) this.collect(bytes);
    if (last) this.onDataset();
  }

  private onCommand(contextId: number): void {
    const bytes = this.commandPieces.length === 1 ? this.commandPieces[0] : Buffer.concat(this.commandPieces);
    this.commandPieces = [];
    this.commandBytes = 0;
    const command = commandOf(bytes);
    if (!command) return this.abort(ABORT_REASON.invalidPduParameterValue);
    if (command.field === COMMAND.cancelRequest) return;
    if (command.hasDataset) {
      this.awaiting = { command, contextId };
      return;
    }
    if (command.field === COMMAND.echoRequest) return this.send(contextId, responseTo(command, STATUS.success));
    if (command.field === COMMAND.storeRequest) return this.send(contextId, responseTo(command, STATUS.cannotUnderstand, 'no data set received'));
    this.send(contextId, responseTo(command, STATUS.unrecognizedOperation));
  }

  /** Copies a data set fragment into the pooled buffer, after HEADER_ROOM. */
  private collect(bytes: Buffer): void {
    const needed = HEADER_ROOM + this.dataLength + bytes.length;
    if (!this.data || needed > this.data.length) {
      // first fragment: room for a typical instance; later, grown (the smaller one goes back)
      const larger = receivePool.take(Math.max(needed, this.data ? this.data.length * 2 : 1024 * 1024));
      if (this.data) {
        this.data.copy(larger, HEADER_ROOM, HEADER_ROOM, HEADER_ROOM + this.dataLength);
        receivePool.give(this.data);
      }
      this.data = larger;
    }
    this.data.set(bytes, HEADER_ROOM + this.dataLength);
    this.dataLength += bytes.length;
  }

  private onDataset(): void {
    const { command, contextId } = this.awaiting ?? { command: undefined, contextId: 0 };
    this.awaiting = undefined;
    if (!command) return;
    if (command.field !== COMMAND.storeRequest) return this.send(contextId, responseTo(command, STATUS.unrecognizedOperation));
    const buffer = this.data;
    const length = this.dataLength;
    this.data = undefined;
    this.dataLength = 0;
    this.answering++;
    let answered = false;
    const answer = (outcome: StoreOutcome) => {
      if (answered) return;
      answered = true;
      // the listener is done with the bytes once it has an outcome
      if (buffer) receivePool.give(buffer);
      this.answering--;
      this.send(contextId, responseTo(command, outcome.status, outcome.comment));
      this.maybeRelease();
    };
    const failed: StoreOutcome = { status: STATUS.outOfResources, comment: 'could not store the instance' };
    let pending: StoreOutcome | Promise<StoreOutcome>;
    try {
      pending = this.handlers.onStore({
        callingAeTitle: this.calling,
        sopClassUid: command.sopClassUid,
        sopInstanceUid: command.sopInstanceUid,
        transferSyntaxUid: this.contexts.get(contextId) ?? '',
        dataset: buffer ? [buffer.subarray(HEADER_ROOM, HEADER_ROOM + length)] : [],
        room: buffer ? { buffer, start: HEADER_ROOM } : undefined,
      });
    } catch {
      return answer(failed);
    }
    // the answer waits for the outcome: a success is sent only once the instance is durable
    if (pending instanceof Promise) pending.then(answer, () => answer(failed));
    else answer(pending);
  }

  private send(contextId: number, command: Buffer | undefined): void {
    if (this.ended) return;
    if (!command) return this.abort(ABORT_REASON.notSpecified);
    const pdus = encodePData(contextId, true, command, this.peerMaxPdu);
    this.socket.write(Buffer.concat(pdus));
  }

  /** A-RELEASE-RP once every C-STORE received was answered; the requestor then closes. */
  private maybeRelease(): void {
    if (!this.releaseRequested || this.answering > 0 || this.ended) return;
    this.reader.stop();
    this.socket.end(encodeReleaseResponse());
    this.end();
  }

  /** A-ABORT by the service provider, then the connection closed. */
  private abort(reason: number): void {
    if (this.ended) return;
    this.reader.stop();
    if (!this.socket.destroyed) this.socket.end(encodeAbort(ABORT_SOURCE.serviceProvider, reason));
    this.end();
    // a peer that does not close after an abort is cut off
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** The association is over: nothing more is read or sent; a partly received data set goes back to the pool. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.associationTimer);
    this.reader.stop();
    this.socket.setTimeout(0);
    this.awaiting = undefined;
    this.commandPieces = [];
    if (this.data) receivePool.give(this.data);
    this.data = undefined;
  }

  destroy(): void {
    this.end();
    this.socket.destroy();
  }
}

/** Starts a C-STORE SCP on host:port; resolves once it listens. */
export function startScp(host: string, port: number, handlers: ScpHandlers): Promise<{ close(): void }> {
  const open = new Set<Association>();
  const server = createServer({ noDelay: true }, (socket) => {
    const association = new Association(socket, handlers);
    open.add(association);
    socket.once('close', () => open.delete(association));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      // errors after listening (none expected) do not bring the process down
      server.on('error', () => undefined);
      resolve({
        close: () => {
          server.close();
          for (const association of open) association.destroy();
          open.clear();
        },
      });
    });
  });
}
