import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, bindAuditKey, GENESIS_HASH, listAudit, unkeyedAuditHash, verifyAuditChain, verifyAuditLog, type AuditEntry } from '../../src/api/audit.js';
import { auditPaths, loadAuditKey, openAuditChain, readChainState } from '../../src/api/auditKey.js';
import { openDatabase, type Db } from '../../src/api/db.js';
import { tempDir } from './helpers.js';

let db: Db | undefined;
const cleanups: (() => void)[] = [];
afterEach(() => {
  db?.close();
  db = undefined;
  cleanups.splice(0).forEach((c) => c());
});

const KEY = Buffer.from('audit-test-key-0123456789abcdef');

function freshDb(): { db: Db; dir: string } {
  const t = tempDir('veil-audit-');
  cleanups.push(t.cleanup);
  db = openDatabase(t.dir);
  bindAuditKey(db, KEY);
  return { db, dir: t.dir };
}

const policy = { name: 'p', version: 1, sha256: 'a'.repeat(64) };
const verify = (entries: AuditEntry[], unkeyedThrough = 0) => verifyAuditChain(entries, { key: KEY, unkeyedThrough });

describe('audit chain (HMAC-SHA256 under a key kept outside the database)', () => {
  it('chains entries from the genesis hash and verifies', () => {
    const { db } = freshDb();
    for (let i = 0; i < 5; i++) appendAudit(db, { actor: `a${i}`, role: 'committee', action: 'policy.put', target: 'policy:p', policy: i % 2 ? policy : null });
    const entries = listAudit(db, 0, 100);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0].prevHash).toBe(GENESIS_HASH);
    expect(verify(entries)).toEqual({ intact: true, entries: 5, firstBroken: null, head: entries[4].hash, unkeyedThrough: 0 });
  });

  it('names the first edited, missing or reordered entry', () => {
    const { db } = freshDb();
    for (let i = 0; i < 4; i++) appendAudit(db, { actor: 'x', role: 'auditor', action: `act${i}`, target: 't', policy });
    const entries = listAudit(db, 0, 100);
    expect(verify(entries.map((e, i) => (i === 2 ? { ...e, actor: 'mallory' } : e))).firstBroken).toBe(3);
    expect(verify(entries.filter((_, i) => i !== 1)).firstBroken).toBe(2);
    expect(verify([entries[0], entries[2], entries[1], entries[3]]).firstBroken).toBe(2);
    expect(verify(entries.map((e, i) => (i === 3 ? { ...e, policy: { ...policy, version: 2 } } : e))).firstBroken).toBe(4);
  });

  it('refuses a chain recomputed without the key, and one checked with another key', () => {
    const { db } = freshDb();
    for (let i = 0; i < 3; i++) appendAudit(db, { actor: 'x', role: 'researcher', action: 'job.submit', target: `job:${i}`, policy });
    const entries = listAudit(db, 0, 100);
    let prev = GENESIS_HASH;
    const forged = entries.map((e) => {
      const edited = { ...e, actor: e.seq === 2 ? 'mallory' : e.actor, prevHash: prev };
      prev = unkeyedAuditHash(edited);
      return { ...edited, hash: prev };
    });
    expect(verify(forged)).toMatchObject({ intact: false, firstBroken: 1, problem: expect.stringContaining('no entry verifies under this key') });
    expect(verifyAuditChain(entries, { key: Buffer.from('another-key-0123456789'), unkeyedThrough: 0 }).firstBroken).toBe(1);
    // one edited entry among good ones is named without that hint
    expect(verify(entries.map((e, i) => (i === 1 ? { ...e, actor: 'mallory' } : e))).problem).toBe('entry 2 was altered (its hash does not match its content under the audit key)');
  });

  it('an expected head that is no longer in the log marks it broken (a deleted tail)', () => {
    const { db } = freshDb();
    for (let i = 0; i < 4; i++) appendAudit(db, { actor: 'x', role: 'auditor', action: 'a', target: 't' });
    const entries = listAudit(db, 0, 100);
    const head = entries[3].hash;
    expect(verifyAuditChain(entries, { key: KEY, unkeyedThrough: 0, expectHead: head })).toMatchObject({ intact: true, expectedHeadFound: true });
    const cut = verifyAuditChain(entries.slice(0, 3), { key: KEY, unkeyedThrough: 0, expectHead: head });
    expect(cut).toMatchObject({ intact: false, firstBroken: null, expectedHeadFound: false, entries: 3 });
  });

  it('two database handles (server and CLI) append to one chain', () => {
    const { db, dir } = freshDb();
    const second = openDatabase(dir);
    bindAuditKey(second, KEY);
    try {
      for (let i = 0; i < 6; i++) appendAudit(i % 2 ? second : db, { actor: 'x', role: 'operator', action: 'key.create', target: `key:${i}` });
    } finally {
      second.close();
    }
    expect(verify(listAudit(db, 0, 100))).toMatchObject({ intact: true, entries: 6 });
  });

  it('verifies a long log in slices, letting other work run in between', async () => {
    const { db } = freshDb();
    db.transaction(() => {
      for (let i = 0; i < 2500; i++) appendAudit(db, { actor: 'x', role: 'researcher', action: 'report.read', target: `job:${i}` });
    })();
    let otherWorkRan = false;
    const pending = verifyAuditLog(db, { key: KEY, unkeyedThrough: 0 });
    setImmediate(() => (otherWorkRan = true));
    expect(await pending).toMatchObject({ intact: true, entries: 2500 });
    expect(otherWorkRan).toBe(true);
  });

  it('a handle without a key cannot append', () => {
    const t = tempDir('veil-audit-');
    cleanups.push(t.cleanup);
    db = openDatabase(t.dir);
    expect(() => appendAudit(db as Db, { actor: 'x', role: 'r', action: 'a', target: 't' })).toThrow(/no audit key/);
  });
});

describe('unkeyed entries of an older Veil', () => {
  /** Writes entries as the unkeyed Veil did (plain SHA-256), straight into the table. */
  function writeUnkeyed(db: Db, count: number): void {
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= count; seq++) {
      const draft = { seq, at: new Date().toISOString(), actor: 'old', role: 'committee', action: 'policy.put', target: 'policy:p', policy: null, prevHash: prev };
      prev = unkeyedAuditHash(draft);
      db.prepare('INSERT INTO audit_log (seq, at, actor, role, action, target, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(seq, draft.at, draft.actor, draft.role, draft.action, draft.target, draft.prevHash, prev);
    }
  }

  it('are closed by a keyed chain.rekeyed entry once, and verify as unkeyed only up to it', () => {
    const { db, dir } = freshDb();
    writeUnkeyed(db, 3);
    expect(openAuditChain(db, dir, KEY)).toEqual({ unkeyedThrough: 3, rekeyedNow: true });
    expect(openAuditChain(db, dir, KEY)).toEqual({ unkeyedThrough: 3, rekeyedNow: false });
    appendAudit(db, { actor: 'x', role: 'auditor', action: 'a', target: 't' });
    const entries = listAudit(db, 0, 100);
    expect(entries.map((e) => e.action)).toEqual(['policy.put', 'policy.put', 'policy.put', 'chain.rekeyed', 'a']);
    expect(entries[3].target).toBe('audit:unkeyed-through:3');
    expect(verify(entries, 3)).toMatchObject({ intact: true, entries: 5 });
    // pretending more entries are unkeyed does not help: the keyed rekey entry must follow them
    expect(verify(entries, 4).intact).toBe(false);
    // nor does forgetting the unkeyed ones
    expect(verify(entries, 0).firstBroken).toBe(1);
    expect(readChainState(dir)).toEqual({ unkeyedThrough: 3 });
  });

  it('a fresh data dir is keyed from its first entry', () => {
    const { db, dir } = freshDb();
    expect(openAuditChain(db, dir, KEY)).toEqual({ unkeyedThrough: 0, rekeyedNow: false });
    expect(listAudit(db, 0, 10)).toEqual([]);
  });
});

describe('the audit key', () => {
  it('is created once as a private file in secrets/, apart from the database', () => {
    const t = tempDir('veil-audit-');
    cleanups.push(t.cleanup);
    const first = loadAuditKey(t.dir, {}, { create: true });
    const again = loadAuditKey(t.dir, {}, { create: true });
    expect(first.origin).toBe('file');
    expect(again.key.equals(first.key)).toBe(true);
    const { keyFile, secretsDir } = auditPaths(t.dir);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(secretsDir).mode & 0o777).toBe(0o700);
  });

  it('comes from VEIL_AUDIT_KEY when set; a missing or readable-by-others key is refused', () => {
    const t = tempDir('veil-audit-');
    cleanups.push(t.cleanup);
    expect(loadAuditKey(t.dir, { VEIL_AUDIT_KEY: 'env-key-0123456789abc' }, { create: false }).origin).toBe('env');
    expect(() => loadAuditKey(t.dir, { VEIL_AUDIT_KEY: 'short' }, { create: false })).toThrow(/shorter than 16 bytes/);
    expect(() => loadAuditKey(t.dir, {}, { create: false })).toThrow(/no audit key/);
    loadAuditKey(t.dir, {}, { create: true });
    writeFileSync(auditPaths(t.dir).keyFile, 'x'.repeat(64), { mode: 0o644 });
    chmodSync(auditPaths(t.dir).keyFile, 0o644);
    expect(() => loadAuditKey(t.dir, {}, { create: false })).toThrow(/other users/);
  });
});
