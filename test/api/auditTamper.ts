/**
 * What an attacker with sqlite3 on the data dir can do to the audit log, done with
 * better-sqlite3 straight on the database file (never through Veil's own functions).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';

interface Row {
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

function withDb<T>(dataDir: string, body: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'veil.sqlite'));
  try {
    return body(db);
  } finally {
    db.close();
  }
}

export function auditRows(dataDir: string): Row[] {
  return withDb(dataDir, (db) => db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Row[]);
}

/** Rewrites who did something, leaving the hashes alone. */
export function editActor(dataDir: string, seq: number): void {
  withDb(dataDir, (db) => db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = ?").run(seq));
}

export function deleteEntries(dataDir: string, ...seqs: number[]): void {
  withDb(dataDir, (db) => {
    for (const seq of seqs) db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq);
  });
}

/**
 * The attack the unkeyed chain allowed: edit an entry, then recompute every hash from the
 * genesis with plain SHA-256 of the documented canonical form, so that every link matches.
 */
export function editAndRechainWithSha256(dataDir: string, seq: number): void {
  withDb(dataDir, (db) => {
    const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Row[];
    let prev = '0'.repeat(64);
    const update = db.prepare('UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?');
    db.transaction(() => {
      for (const row of rows) {
        const actor = row.seq === seq ? 'mallory' : row.actor;
        const canonical = JSON.stringify([row.seq, row.at, actor, row.role, row.action, row.target, row.policy_name, row.policy_version, row.policy_sha256, prev]);
        const hash = createHash('sha256').update(canonical, 'utf8').digest('hex');
        update.run(actor, prev, hash, row.seq);
        prev = hash;
      }
    })();
  });
}
