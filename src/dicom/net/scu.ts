import { connect, type Socket } from 'node:net';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from '../marking.js';
import { parseCommand, writeCommand } from './dimseCommand.js';
import {
  ABORT_REASON,
  ABORT_SOURCE,
  APPLICATION_CONTEXT,
  CONTEXT_RESULT,
  decodeAssociateAccept,
  encodeAbort,
  encodeAssociateRequest,
  encodePData,
  encodeReleaseRequest,
  PDU_TYPE,
  PduReader,
  type ProposedContext,
  MAX_PDU_ACCEPTED,
  MAX_PDU_RECEIVED,
  VERIFICATION_SOP_CLASS,
} from './upperLayer.js';

/**
 * Veil's forwarding SCU on its own upper layer (upperLayer.ts): C-STORE and C-ECHO over one
 * association per call. A data set goes out as the bytes Veil wrote, proposed in its own
 * transfer syntax only (never transcoded: a receiver that does not accept that syntax gets
 * nothing rather than a re-encoded copy), as P-DATA-TF PDUs of a 12-byte header and a view of
 * the bytes. dcmjs-dimse's client cost ≈ 1 ms of main-thread time per instance.
 */

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

const IMPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2';
/** The largest P-DATA-TF sent when the receiver sets no limit. */
const MAX_PDU_SENT = 4_194_304;
/** At most 128 presentation contexts in an association (odd ids 1–255, PS3.8 9.3.2.2). */
const MAX_CONTEXTS = 128;
const STORE_REQUEST = 0x0001;
const ECHO_REQUEST = 0x0030;
const RESPONSE = 0x8000;
const NO_DATASET = 0x0101;
const DATASET_PRESENT = 0x0000;
const SUCCESS = 0x0000;

export interface Timeouts {
  connectMs: number;
  /** From the A-ASSOCIATE-RQ to its answer. */
  associationMs: number;
  /** Silence while an answer is awaited. */
  pduMs: number;
}
const STORE_TIMEOUTS: Timeouts = { connectMs: 10_000, associationMs: 30_000, pduMs: 60_000 };
const ECHO_TIMEOUTS: Timeouts = { connectMs: 5_000, associationMs: 30_000, pduMs: 60_000 };

/** Stored, or stored with a warning (0xB000, 0xB006, 0xB007): the rule dcmjs-dimse's client was used with. */
export function isStoredStatus(status: number): boolean {
  return status === SUCCESS || (status & 0xf000) === 0xb000;
}

/** What the peer said next: a whole non-data PDU, a DIMSE response's command set, or the end. */
type Event = { kind: 'pdu'; type: number; body: Buffer } | { kind: 'response'; command: Record<string, unknown> } | { kind: 'ended' };

/** The presentation contexts a batch needs: one per SOP class and transfer syntax, in order of first use. */
export function contextsFor(pairs: readonly { sopClassUid: string; transferSyntaxUid: string }[]): ProposedContext[] {
  const seen = new Map<string, ProposedContext>();
  for (const { sopClassUid, transferSyntaxUid } of pairs) {
    const key = `${sopClassUid}|${transferSyntaxUid}`;
    if (seen.has(key) || seen.size >= MAX_CONTEXTS) continue;
    seen.set(key, { id: 2 * seen.size + 1, abstractSyntax: sopClassUid, transferSyntaxes: [transferSyntaxUid] });
  }
  return [...seen.values()];
}

/** One association as requestor: messages sent one at a time, each once the previous was answered. */
export class ScuAssociation {
  private readonly reader: PduReader;
  private readonly events: Event[] = [];
  private waiter: ((event: Event) => void) | undefined;
  private ended = false;
  private commandPieces: Buffer[] = [];
  private messageId = 0;
  /** Accepted contexts: "SOP class|transfer syntax" → context id. */
  private readonly accepted = new Map<string, number>();
  private peerMaxPdu = 0;

  private constructor(private readonly socket: Socket, private readonly timeouts: Timeouts) {
    this.reader = new PduReader(
      {
        pdu: (type, body) => this.push({ kind: 'pdu', type, body }),
        pdv: (_contextId, command, last, bytes) => this.onPdv(command, last, bytes),
        malformed: (error) => this.abort(error.reason),
      },
      MAX_PDU_ACCEPTED,
    );
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', () => this.end());
    socket.on('close', () => this.end());
    socket.setTimeout(timeouts.pduMs, () => this.abort(ABORT_REASON.notSpecified));
  }

  /** Connects and negotiates `contexts`; undefined when the peer cannot be reached, rejects the association or answers wrongly. */
  static async open(destination: Destination, contexts: readonly ProposedContext[], timeouts: Timeouts): Promise<ScuAssociation | undefined> {
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const s = connect({ host: destination.host, port: destination.port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(undefined);
      }, timeouts.connectMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    if (!socket) return undefined;
    // every DIMSE exchange is a small command answered by a small response: with Nagle's
    // algorithm each one would wait for the peer's delayed ACK (≈ 40–90 ms on loopback)
    socket.setNoDelay(true);
    const association = new ScuAssociation(socket, timeouts);
    return (await association.negotiate(destination, contexts)) ? association : undefined;
  }

  private async negotiate(destination: Destination, contexts: readonly ProposedContext[]): Promise<boolean> {
    this.socket.write(
      encodeAssociateRequest({
        protocolVersion: 1,
        calledAeTitle: destination.aeTitle,
        callingAeTitle: destination.callingAeTitle,
        applicationContext: APPLICATION_CONTEXT,
        contexts: [...contexts],
        maxPduLength: MAX_PDU_RECEIVED,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersion: IMPLEMENTATION_VERSION,
      }),
    );
    const timer = setTimeout(() => this.abort(ABORT_REASON.notSpecified), this.timeouts.associationMs);
    const event = await this.next();
    clearTimeout(timer);
    if (event.kind !== 'pdu' || event.type !== PDU_TYPE.associateAccept) {
      // A-ASSOCIATE-RJ, A-ABORT or the connection closed: nothing more to say
      if (event.kind === 'pdu' && event.type !== PDU_TYPE.associateReject && event.type !== PDU_TYPE.abort) this.abort(ABORT_REASON.unexpectedPdu);
      else this.destroy();
      return false;
    }
    let accept;
    try {
      accept = decodeAssociateAccept(event.body);
    } catch {
      this.abort(ABORT_REASON.invalidPduParameterValue);
      return false;
    }
    const proposed = new Map(contexts.map((c) => [c.id, c]));
    for (const result of accept.contexts) {
      const context = proposed.get(result.id);
      // accepted in the syntax proposed (the only one): anything else is not sent on
      if (context && result.result === CONTEXT_RESULT.acceptance && result.transferSyntax === context.transferSyntaxes[0]) {
        this.accepted.set(`${context.abstractSyntax}|${context.transferSyntaxes[0]}`, context.id);
      }
    }
    this.peerMaxPdu = accept.maxPduLength;
    return true;
  }

  /** Whether a message of this SOP class in this transfer syntax can be sent. */
  accepts(sopClassUid: string, transferSyntaxUid: string): boolean {
    return this.accepted.has(`${sopClassUid}|${transferSyntaxUid}`);
  }

  get open(): boolean {
    return !this.ended;
  }

  /** C-STORE of one data set; the response's status, or undefined when the association ended first. */
  async store(instance: OutgoingInstance): Promise<number | undefined> {
    const contextId = this.accepted.get(`${instance.sopClassUid}|${instance.transferSyntaxUid}`);
    if (contextId === undefined || this.ended) return undefined;
    const messageId = this.nextMessageId();
    const command = writeCommand({
      CommandField: STORE_REQUEST,
      MessageID: messageId,
      Priority: 0,
      CommandDataSetType: DATASET_PRESENT,
      AffectedSOPClassUID: instance.sopClassUid,
      AffectedSOPInstanceUID: instance.sopInstanceUid,
    });
    if (!command) return undefined;
    const dataset = typeof instance.dataset === 'function' ? instance.dataset() : instance.dataset;
    this.send(contextId, command, dataset);
    return this.response(messageId);
  }

  /** C-ECHO; the response's status, or undefined. */
  async echo(): Promise<number | undefined> {
    const contextId = this.accepted.get(`${VERIFICATION_SOP_CLASS}|${IMPLICIT_LITTLE_ENDIAN}`);
    if (contextId === undefined || this.ended) return undefined;
    const messageId = this.nextMessageId();
    const command = writeCommand({ CommandField: ECHO_REQUEST, MessageID: messageId, CommandDataSetType: NO_DATASET, AffectedSOPClassUID: VERIFICATION_SOP_CLASS });
    if (!command) return undefined;
    this.send(contextId, command);
    return this.response(messageId);
  }

  /** A-RELEASE-RQ, then the connection closed once the peer answers (or after the PDU timeout). */
  async release(): Promise<void> {
    if (this.ended) return;
    this.socket.write(encodeReleaseRequest());
    const event = await this.next();
    if (event.kind === 'pdu' && event.type !== PDU_TYPE.releaseResponse && event.type !== PDU_TYPE.abort) return this.abort(ABORT_REASON.unexpectedPdu);
    this.destroy();
  }

  /** A-ABORT by the service user, then the connection closed. */
  abort(reason: number = ABORT_REASON.notSpecified): void {
    if (this.ended) return;
    if (!this.socket.destroyed) this.socket.end(encodeAbort(ABORT_SOURCE.serviceUser, reason));
    this.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private nextMessageId(): number {
    this.messageId = (this.messageId % 0xffff) + 1;
    return this.messageId;
  }

  /** The command and data set as P-DATA-TF PDUs no longer than the peer takes: headers and views, corked into few writes. */
  private send(contextId: number, command: Buffer, dataset?: Buffer): void {
    const max = this.peerMaxPdu === 0 ? MAX_PDU_SENT : Math.min(this.peerMaxPdu, MAX_PDU_SENT);
    this.socket.cork();
    for (const piece of encodePData(contextId, true, command, max)) this.socket.write(piece);
    if (dataset) for (const piece of encodePData(contextId, false, dataset, max)) this.socket.write(piece);
    this.socket.uncork();
  }

  private async response(messageId: number): Promise<number | undefined> {
    const event = await this.next();
    if (event.kind === 'response') {
      const { CommandField, MessageIDBeingRespondedTo, Status } = event.command;
      if (typeof CommandField === 'number' && (CommandField & RESPONSE) !== 0 && MessageIDBeingRespondedTo === messageId && typeof Status === 'number') return Status;
      this.abort(ABORT_REASON.unexpectedPduParameter);
      return undefined;
    }
    if (event.kind === 'pdu' && event.type !== PDU_TYPE.abort) this.abort(ABORT_REASON.unexpectedPdu);
    else this.destroy();
    return undefined;
  }

  private onPdv(command: boolean, last: boolean, bytes: Buffer): void {
    // a C-STORE or C-ECHO response has no data set
    if (!command) return this.abort(ABORT_REASON.unexpectedPduParameter);
    // copied: the piece is a view of a socket chunk
    if (bytes.length > 0) this.commandPieces.push(Buffer.from(bytes));
    if (!last) return;
    const bytesOf = Buffer.concat(this.commandPieces);
    this.commandPieces = [];
    const parsed = parseCommand(bytesOf);
    if (!parsed) return this.abort(ABORT_REASON.invalidPduParameterValue);
    this.push({ kind: 'response', command: parsed });
  }

  private push(event: Event): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter(event);
    } else this.events.push(event);
  }

  private next(): Promise<Event> {
    const queued = this.events.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve({ kind: 'ended' });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.reader.stop();
    this.socket.setTimeout(0);
    this.push({ kind: 'ended' });
  }

  private destroy(): void {
    this.end();
    this.socket.destroy();
  }
}

/** Sends instances over one association; resolves with how many the receiver confirmed. */
export async function sendInstances(destination: Destination, instances: readonly OutgoingInstance[], timeouts: Timeouts = STORE_TIMEOUTS): Promise<{ stored: number; failed: number }> {
  let stored = 0;
  if (instances.length === 0) return { stored, failed: 0 };
  const association = await ScuAssociation.open(destination, contextsFor(instances), timeouts);
  if (!association) return { stored, failed: instances.length };
  try {
    for (const instance of instances) {
      if (!association.open) break;
      // an instance whose context was not accepted is not sent (counted failed)
      if (!association.accepts(instance.sopClassUid, instance.transferSyntaxUid)) continue;
      const status = await association.store(instance);
      if (status !== undefined && isStoredStatus(status)) {
        stored++;
        instance.onStored();
      }
    }
    await association.release();
  } catch (error) {
    association.abort();
    throw error;
  }
  return { stored, failed: instances.length - stored };
}

/** Sends a C-ECHO; resolves true when the peer answers with success. */
export async function echo(destination: Destination, timeouts: Timeouts = ECHO_TIMEOUTS): Promise<boolean> {
  const association = await ScuAssociation.open(destination, [{ id: 1, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT_LITTLE_ENDIAN] }], timeouts);
  if (!association) return false;
  const status = await association.echo();
  await association.release();
  return status === SUCCESS;
}
