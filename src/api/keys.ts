import { createHash, randomBytes } from 'node:crypto';
import { nowIso, statement, type Db } from './db.js';
import { isRole, type Role } from './roles.js';

export { ROLES, isRole, type Role } from './roles.js';

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
}

const KEY_PREFIX = 'veil_';

/**
 * Keys are 256 random bits, so a plain SHA-256 is enough to store them: there is nothing to
 * brute-force, and a leaked database does not reveal a usable key.
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Creates a key; the clear key is returned once and never stored. */
export function createApiKey(db: Db, role: Role, name?: string): { key: string; record: ApiKeyRecord } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  const id = randomBytes(8).toString('hex');
  const record: ApiKeyRecord = { id, name: name?.trim() || `${role}-${id.slice(0, 6)}`, role, createdAt: nowIso() };
  statement(db, 'INSERT INTO api_keys (id, name, role, key_hash, created_at) VALUES (?, ?, ?, ?, ?)').run(
    record.id,
    record.name,
    record.role,
    hashKey(key),
    record.createdAt,
  );
  return { key, record };
}

interface KeyRow {
  id: string;
  name: string;
  role: string;
  created_at: string;
}

/** The key record for a presented bearer token, or undefined when unknown. */
export function findApiKey(db: Db, presented: string): ApiKeyRecord | undefined {
  if (!presented.startsWith(KEY_PREFIX) || presented.length > 200) return undefined;
  const row = statement(db, 'SELECT id, name, role, created_at FROM api_keys WHERE key_hash = ?').get(hashKey(presented)) as KeyRow | undefined;
  if (!row || !isRole(row.role)) return undefined;
  return { id: row.id, name: row.name, role: row.role, createdAt: row.created_at };
}
