import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, findChainBreak, listAudit } from '../../src/api/audit.js';
import { openDatabase, type Db } from '../../src/api/db.js';
import { tempDir } from './helpers.js';

let db: Db | undefined;
const cleanups: (() => void)[] = [];
afterEach(() => {
  db?.close();
  db = undefined;
  cleanups.splice(0).forEach((c) => c());
});

function freshDb(): { db: Db; dir: string } {
  const t = tempDir('veil-audit-');
  cleanups.push(t.cleanup);
  db = openDatabase(t.dir);
  return { db, dir: t.dir };
}

const policy = { name: 'p', version: 1, sha256: 'a'.repeat(64) };

describe('audit hash chain', () => {
  it('chains entries from the genesis hash and verifies', () => {
    const { db } = freshDb();
    for (let i = 0; i < 5; i++) appendAudit(db, { actor: `a${i}`, role: 'committee', action: 'policy.put', target: 'policy:p', policy: i % 2 ? policy : null });
    const entries = listAudit(db, 0, 100);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0].prevHash).toBe('0'.repeat(64));
    expect(findChainBreak(entries)).toBe(-1);
  });

  it('finds an edited, a deleted and a reordered entry', () => {
    const { db } = freshDb();
    for (let i = 0; i < 4; i++) appendAudit(db, { actor: 'x', role: 'auditor', action: `act${i}`, target: 't', policy });
    const entries = listAudit(db, 0, 100);
    expect(findChainBreak(entries.map((e, i) => (i === 2 ? { ...e, actor: 'mallory' } : e)))).toBe(2);
    expect(findChainBreak(entries.filter((_, i) => i !== 1))).toBe(1);
    expect(findChainBreak([entries[0], entries[2], entries[1], entries[3]])).toBe(1);
    expect(findChainBreak(entries.map((e, i) => (i === 3 ? { ...e, policy: { ...policy, version: 2 } } : e)))).toBe(3);
  });

  it('detects tampering made directly in the database', () => {
    const { db } = freshDb();
    for (let i = 0; i < 3; i++) appendAudit(db, { actor: 'x', role: 'researcher', action: 'job.submit', target: `job:${i}`, policy });
    db.prepare("UPDATE audit_log SET target = 'job:other' WHERE seq = 2").run();
    expect(findChainBreak(listAudit(db, 0, 100))).toBe(1);
  });

  it('two database handles (server and CLI) append to one chain', () => {
    const { db, dir } = freshDb();
    const second = openDatabase(dir);
    try {
      for (let i = 0; i < 6; i++) appendAudit(i % 2 ? second : db, { actor: 'x', role: 'operator', action: 'key.create', target: `key:${i}` });
    } finally {
      second.close();
    }
    const entries = listAudit(db, 0, 100);
    expect(entries).toHaveLength(6);
    expect(findChainBreak(entries)).toBe(-1);
  });
});
