import { createHash } from 'node:crypto';
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
  prevHash: string;
  hash: string;
}

export type AuditInput = Pick<AuditEntry, 'actor' | 'role' | 'action' | 'target'> & { policy?: AuditPolicyRef | null };

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash of one entry: SHA-256 (hex) of the JSON array
 * `[seq, at, actor, role, action, target, policyName, policyVersion, policySha256, prevHash]`
 * (policy fields null when the entry has no policy). Chaining through prevHash makes any
 * edit, deletion or reordering of earlier entries visible.
 */
export function auditHash(entry: Omit<AuditEntry, 'hash'>): string {
  const canonical = JSON.stringify([
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
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Index of the first entry that breaks the chain, or -1 when `entries` (from seq 1) verify. */
export function findChainBreak(entries: readonly AuditEntry[], startHash: string = GENESIS_HASH): number {
  let prev = startHash;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index];
    if (entry.prevHash !== prev || auditHash(entry) !== entry.hash) return index;
    prev = entry.hash;
  }
  return -1;
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
}

function fromRow(row: AuditRow): AuditEntry {
  const policy =
    row.policy_name !== null && row.policy_version !== null && row.policy_sha256 !== null
      ? { name: row.policy_name, version: row.policy_version, sha256: row.policy_sha256 }
      : null;
  return { seq: row.seq, at: row.at, actor: row.actor, role: row.role, action: row.action, target: row.target, policy, prevHash: row.prev_hash, hash: row.hash };
}

/**
 * Appends one entry. Runs in an IMMEDIATE transaction so that two writers (the server and
 * `veil keys create`) never chain onto the same predecessor.
 */
export function appendAudit(db: Db, input: AuditInput): AuditEntry {
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
        prevHash: last?.hash ?? GENESIS_HASH,
      };
      const entry: AuditEntry = { ...draft, hash: auditHash(draft) };
      statement(
        db,
        `INSERT INTO audit_log (seq, at, actor, role, action, target, policy_name, policy_version, policy_sha256, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(entry.seq, entry.at, entry.actor, entry.role, entry.action, entry.target, entry.policy?.name ?? null, entry.policy?.version ?? null, entry.policy?.sha256 ?? null, entry.prevHash, entry.hash);
      return entry;
    })
    .immediate();
}

/** Entries with seq > after, oldest first. */
export function listAudit(db: Db, after: number, limit: number): AuditEntry[] {
  const rows = statement(db, 'SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?').all(after, limit) as AuditRow[];
  return rows.map(fromRow);
}
