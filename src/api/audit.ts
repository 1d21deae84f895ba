import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { nowIso, statement, type Db } from './db.js';

/** The policy version an audited action concerned. */
export interface AuditPolicyRef {
  name: string;
  version: number;
  sha256: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target: string;
  policy: AuditPolicyRef | null;
  /** Words that go with the action (a committee decision's comment); never data values. */
  detail?: AuditDetail;
  prevHash: string;
  hash: string;
}

/** Short text fields of an entry, e.g. { comment } of a policy decision. */
export type AuditDetail = Record<string, string>;

export type AuditInput = Pick<AuditEntry, 'actor' | 'role' | 'action' | 'target'> & { policy?: AuditPolicyRef | null; detail?: AuditDetail };

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Action of the keyed entry that closes the unkeyed entries an older Veil wrote. */
export const REKEY_ACTION = 'chain.rekeyed';

/** The target of the rekey entry: it names, under the key, the last unkeyed sequence number. */
export function rekeyTarget(unkeyedThrough: number): string {
  return `audit:unkeyed-through:${unkeyedThrough}`;
}

/**
 * The bytes an entry's hash covers: the JSON array
 * `[seq, at, actor, role, action, target, policyName, policyVersion, policySha256, prevHash]`
 * (policy fields null when the entry has no policy), with the entry's detail as an 11th
 * element when it has one (its keys sorted), so entries without detail hash as before.
 */
function canonical(entry: Omit<AuditEntry, 'hash'>): string {
  const fields: unknown[] = [
    entry.seq,
    entry.at,
    entry.actor,
    entry.role,
    entry.action,
    entry.target,
    entry.policy?.name ?? null,
    entry.policy?.version ?? null,
    entry.policy?.sha256 ?? null,
    entry.prevHash,
  ];
  if (entry.detail !== undefined) fields.push(Object.fromEntries(Object.entries(entry.detail).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  return JSON.stringify(fields);
}

/**
 * The hash of one entry: HMAC-SHA256 (hex) of its canonical form under the audit key, which
 * lives outside the database. Chaining through prevHash makes an edit, deletion or
 * reordering of earlier entries visible; the key makes it impossible to recompute the chain
 * after such an edit without the key.
 */
export function auditMac(entry: Omit<AuditEntry, 'hash'>, key: Uint8Array): string {
  return createHmac('sha256', key).update(canonical(entry), 'utf8').digest('hex');
}

/** The unkeyed SHA-256 of entries written before audit keys existed (verified as such only up to the rekey entry). */
export function unkeyedAuditHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(canonical(entry), 'utf8').digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What verifying the chain found. `head` is the hash of the last entry (GENESIS_HASH when empty). */
export interface ChainVerdict {
  intact: boolean;
  entries: number;
  /** Sequence number of the first entry that is missing, altered or out of chain; null when none. */
  firstBroken: number | null;
  head: string;
  /** Entries 1..unkeyedThrough were written before the key (checked with plain SHA-256). */
  unkeyedThrough: number;
  /** Given when an expected head was checked: whether an entry of the log has that hash. */
  expectedHeadFound?: boolean;
  /** One sentence saying what is wrong; absent when intact. */
  problem?: string;
}

export interface VerifyOptions {
  key: Uint8Array;
  /** From the chain state kept beside the key (0 for a log keyed from its first entry). */
  unkeyedThrough: number;
  /** A head hash written down earlier outside Veil: the log must still contain it. */
  expectHead?: string;
}

/**
 * Verifies entries fed oldest first, from seq 1. Entries up to `unkeyedThrough` must verify
 * as unkeyed SHA-256, and the next one must be the keyed rekey entry naming that number;
 * every later entry must verify under the key. Pure: it reads nothing but what it is given,
 * and holds only a few counters, so a log of any length can be fed in slices.
 */
export class ChainVerifier {
  private prev = GENESIS_HASH;
  private count = 0;
  private firstBroken: number | null = null;
  private problem: string | undefined;
  private expectedHeadFound = false;
  private keyed = 0;
  private keyedFailing = 0;

  constructor(private readonly options: VerifyOptions) {}

  add(entry: AuditEntry): void {
    const { key, unkeyedThrough, expectHead } = this.options;
    this.count++;
    const checked = checkEntry(entry, this.count, this.prev, unkeyedThrough, key, (seq, why) => this.broken(seq, why));
    this.prev = entry.hash;
    if (checked.keyed) {
      this.keyed++;
      if (!checked.macMatches) this.keyedFailing++;
    }
    if (this.firstBroken === null && expectHead !== undefined && sameHex(entry.hash, expectHead)) this.expectedHeadFound = true;
  }

  verdict(): ChainVerdict {
    const { unkeyedThrough, expectHead } = this.options;
    const count = this.count;
    if (unkeyedThrough > 0 && count <= unkeyedThrough) this.broken(count + 1, `the log ends before entry ${unkeyedThrough + 1}, the keyed entry that closes the unkeyed ones`);
    let problem = this.problem;
    const verdict: ChainVerdict = { intact: this.firstBroken === null, entries: count, firstBroken: this.firstBroken, head: count > 0 ? this.prev : GENESIS_HASH, unkeyedThrough };
    if (expectHead !== undefined) {
      verdict.expectedHeadFound = this.expectedHeadFound;
      if (!this.expectedHeadFound && this.firstBroken === null) {
        verdict.intact = false;
        problem = 'the head written down earlier is not in the log: entries after it were deleted or the log was replaced';
      }
    }
    if (problem !== undefined && this.keyed > 0 && this.keyedFailing === this.keyed) {
      // every keyed entry fails alike: a chain rebuilt without the key, or the wrong key given to the check
      problem = `${problem}; no entry verifies under this key: the log was re-chained without it, or it is not the key the log was written with`;
    }
    if (problem !== undefined && !verdict.intact) verdict.problem = problem;
    return verdict;
  }

  private broken(seq: number, why: string): void {
    if (this.firstBroken !== null) return;
    this.firstBroken = seq;
    this.problem = why;
  }
}

/** Verifies a whole sequence of entries (see ChainVerifier). */
export function verifyAuditChain(entries: Iterable<AuditEntry>, options: VerifyOptions): ChainVerdict {
  const verifier = new ChainVerifier(options);
  for (const entry of entries) verifier.add(entry);
  return verifier.verdict();
}

/**
 * Checks one entry at its expected position (reporting the first problem through `broken`);
 * says whether it is a keyed entry and whether its hash matches its content.
 */
function checkEntry(
  entry: AuditEntry,
  expectedSeq: number,
  prev: string,
  unkeyedThrough: number,
  key: Uint8Array,
  broken: (seq: number, why: string) => void,
): { keyed: boolean; macMatches: boolean } {
  const keyed = entry.seq > unkeyedThrough;
  const macMatches = sameHex(entry.hash, keyed ? auditMac(entry, key) : unkeyedAuditHash(entry));
  if (entry.seq !== expectedSeq) {
    broken(expectedSeq, entry.seq > expectedSeq ? `entry ${expectedSeq} is missing` : `entry ${entry.seq} is out of order`);
  } else if (!sameHex(entry.prevHash, prev)) {
    broken(entry.seq, `entry ${entry.seq} does not chain to the entry before it`);
  } else if (!macMatches) {
    broken(entry.seq, `entry ${entry.seq} was altered (its hash does not match its content${keyed ? ' under the audit key' : ''})`);
  } else if (unkeyedThrough > 0 && entry.seq === unkeyedThrough + 1 && (entry.action !== REKEY_ACTION || entry.target !== rekeyTarget(unkeyedThrough))) {
    broken(entry.seq, `entry ${entry.seq} should be the keyed entry that closes the ${unkeyedThrough} unkeyed ones`);
  }
  return { keyed, macMatches };
}

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target: string;
  policy_name: string | null;
  policy_version: number | null;
  policy_sha256: string | null;
  prev_hash: string;
  hash: string;
  detail?: string | null;
}

function fromRow(row: AuditRow): AuditEntry {
  const policy =
    row.policy_name !== null && row.policy_version !== null && row.policy_sha256 !== null
      ? { name: row.policy_name, version: row.policy_version, sha256: row.policy_sha256 }
      : null;
  const entry: AuditEntry = { seq: row.seq, at: row.at, actor: row.actor, role: row.role, action: row.action, target: row.target, policy, prevHash: row.prev_hash, hash: row.hash };
  if (typeof row.detail === 'string') entry.detail = JSON.parse(row.detail) as AuditDetail;
  return entry;
}

/**
 * The audit key each database handle writes with. It is read at the edge (server start,
 * CLI) and bound to the handle there, so the many places that audit an action need not
 * carry it; a handle without a key cannot append.
 */
const auditKeys = new WeakMap<Db, Buffer>();

export function bindAuditKey(db: Db, key: Buffer): void {
  auditKeys.set(db, key);
}

export function auditKeyOf(db: Db): Buffer {
  const key = auditKeys.get(db);
  if (!key) throw new Error('no audit key is bound to this database handle');
  return key;
}

/**
 * Appends one entry, chained to the last one by HMAC under the handle's audit key. Runs in
 * an IMMEDIATE transaction so that two writers (the server and `veil keys create`) never
 * chain onto the same predecessor.
 */
export function appendAudit(db: Db, input: AuditInput): AuditEntry {
  const key = auditKeyOf(db);
  return db
    .transaction((): AuditEntry => {
      const last = statement(db, 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
      const draft: Omit<AuditEntry, 'hash'> = {
        seq: (last?.seq ?? 0) + 1,
        at: nowIso(),
        actor: input.actor,
        role: input.role,
        action: input.action,
        target: input.target,
        policy: input.policy ?? null,
        ...(input.detail !== undefined ? { detail: input.detail } : {}),
        prevHash: last?.hash ?? GENESIS_HASH,
      };
      const entry: AuditEntry = { ...draft, hash: auditMac(draft, key) };
      statement(
        db,
        `INSERT INTO audit_log (seq, at, actor, role, action, target, policy_name, policy_version, policy_sha256, prev_hash, hash, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        entry.seq,
        entry.at,
        entry.actor,
        entry.role,
        entry.action,
        entry.target,
        entry.policy?.name ?? null,
        entry.policy?.version ?? null,
        entry.policy?.sha256 ?? null,
        entry.prevHash,
        entry.hash,
        entry.detail !== undefined ? JSON.stringify(entry.detail) : null,
      );
      return entry;
    })
    .immediate();
}

/** The highest sequence number written (0 for an empty log). */
export function lastAuditSeq(db: Db): number {
  const row = statement(db, 'SELECT MAX(seq) AS seq FROM audit_log').get() as { seq: number | null };
  return row.seq ?? 0;
}

/** Entries with seq > after, oldest first. */
export function listAudit(db: Db, after: number, limit: number): AuditEntry[] {
  const rows = statement(db, 'SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?').all(after, limit) as AuditRow[];
  return rows.map(fromRow);
}

/** What the auditor narrows the log to: an action, an actor (part of its name or key id), a time range (ISO, inclusive). */
export interface AuditFilter {
  action?: string;
  actor?: string;
  from?: string;
  to?: string;
}

/** Entries with seq > after that match the filter, oldest first. */
export function searchAudit(db: Db, filter: AuditFilter, after: number, limit: number): AuditEntry[] {
  const rows = statement(
    db,
    `SELECT * FROM audit_log WHERE seq > @after AND (@action IS NULL OR action = @action) AND (@actor IS NULL OR instr(actor, @actor) > 0)
     AND (@from IS NULL OR at >= @from) AND (@to IS NULL OR at <= @to) ORDER BY seq LIMIT @limit`,
  ).all({ after, action: filter.action ?? null, actor: filter.actor ?? null, from: filter.from ?? null, to: filter.to ?? null, limit }) as AuditRow[];
  return rows.map(fromRow);
}

/** Entries verified per slice before the event loop gets a turn (a few ms each). */
const VERIFY_SLICE = 1000;

/**
 * Verifies the whole log of `db` in slices, yielding to the event loop between them, so a
 * long log never holds up the server's other requests.
 */
export async function verifyAuditLog(db: Db, options: VerifyOptions): Promise<ChainVerdict> {
  const verifier = new ChainVerifier(options);
  let after = 0;
  for (;;) {
    const slice = listAudit(db, after, VERIFY_SLICE);
    for (const entry of slice) verifier.add(entry);
    const last = slice[slice.length - 1];
    if (slice.length < VERIFY_SLICE || !last) break;
    after = last.seq;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return verifier.verdict();
}
