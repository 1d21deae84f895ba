/**
 * The audit key and chain state, read at the edges (server start, CLI) and passed to the
 * audit functions. Both live in the data dir's protected folder `secrets/` (0700), apart
 * from the database: whoever can edit the database but not read that folder cannot forge
 * the chain.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VeilError } from '../errors.js';
import { appendAudit, bindAuditKey, lastAuditSeq, REKEY_ACTION, rekeyTarget } from './audit.js';
import type { Db } from './db.js';

export const AUDIT_KEY_ENV = 'VEIL_AUDIT_KEY';
const MIN_KEY_BYTES = 16;

export interface AuditPaths {
  secretsDir: string;
  keyFile: string;
  chainFile: string;
}

export function auditPaths(dataDir: string): AuditPaths {
  const secretsDir = join(dataDir, 'secrets');
  return { secretsDir, keyFile: join(secretsDir, 'audit.key'), chainFile: join(secretsDir, 'audit-chain.json') };
}

export interface LoadedAuditKey {
  key: Buffer;
  origin: 'env' | 'file';
}

/**
 * VEIL_AUDIT_KEY when set, else the key file. With `create`, a missing key file is made
 * (32 random bytes as hex, mode 0600, never overwriting one another process made first);
 * without, a missing key is an error naming both sources.
 */
export function loadAuditKey(dataDir: string, env: NodeJS.ProcessEnv, options: { create: boolean }): LoadedAuditKey {
  const fromEnv = env[AUDIT_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const key = Buffer.from(fromEnv, 'utf8');
    if (key.length < MIN_KEY_BYTES) throw new VeilError('SECRET_MISSING', `${AUDIT_KEY_ENV} is shorter than ${MIN_KEY_BYTES} bytes`, { field: AUDIT_KEY_ENV });
    return { key, origin: 'env' };
  }
  const { secretsDir, keyFile } = auditPaths(dataDir);
  let text = readKeyFile(keyFile);
  if (text === undefined) {
    if (!options.create) {
      throw new VeilError('SECRET_MISSING', `no audit key: set ${AUDIT_KEY_ENV} or keep the key file the server created`, { file: keyFile });
    }
    mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
    createKeyFile(keyFile);
    text = readKeyFile(keyFile);
  }
  const key = Buffer.from(text ?? '', 'utf8');
  if (key.length < MIN_KEY_BYTES) throw new VeilError('SECRET_MISSING', `the audit key file holds fewer than ${MIN_KEY_BYTES} bytes`, { file: keyFile });
  return { key, origin: 'file' };
}

function readKeyFile(file: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw new VeilError('SECRET_MISSING', 'cannot read the audit key file', { file });
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new VeilError('SECRET_MISSING', 'the audit key file can be read by other users; make it private (chmod 600)', { file });
  }
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new VeilError('SECRET_MISSING', 'cannot read the audit key file', { file });
  }
}

/** Writes a temp file, then links it into place: readers never see half a key, and a key another process created first wins. */
function createKeyFile(file: string): void {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temp, 0o600);
  try {
    linkSync(temp, file);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** How many entries an older Veil wrote without a key (kept beside the key, not in the database). */
export interface ChainState {
  unkeyedThrough: number;
}

/** The chain state, or undefined before a keyed Veil first opened this data dir. */
export function readChainState(dataDir: string): ChainState | undefined {
  const { chainFile } = auditPaths(dataDir);
  let text: string;
  try {
    text = readFileSync(chainFile, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw new VeilError('SECRET_MISSING', 'cannot read the audit chain state', { file: chainFile });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const through = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).unkeyedThrough : undefined;
  if (typeof through !== 'number' || !Number.isSafeInteger(through) || through < 0) {
    throw new VeilError('SECRET_MISSING', 'the audit chain state is not {"unkeyedThrough": <n>}', { file: chainFile });
  }
  return { unkeyedThrough: through };
}

function writeChainState(dataDir: string, state: ChainState): void {
  const { secretsDir, chainFile } = auditPaths(dataDir);
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const temp = `${chainFile}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  renameSync(temp, chainFile);
}

/**
 * Binds `key` to `db` for appends and, the first time a keyed Veil opens the data dir,
 * records how many unkeyed entries an older Veil left and closes them with a keyed
 * `chain.rekeyed` entry. From then on every entry is keyed. Call once at each writing edge.
 * The state file is what marks "keyed since": if it is lost, the next start takes every
 * entry as unkeyed again (`rekeyedNow`, which the caller must report loudly).
 */
export function openAuditChain(db: Db, dataDir: string, key: Buffer): ChainState & { rekeyedNow: boolean } {
  bindAuditKey(db, key);
  return db
    .transaction(() => {
      const last = lastAuditSeq(db);
      let state = readChainState(dataDir);
      if (!state) {
        state = { unkeyedThrough: last };
        writeChainState(dataDir, state);
      }
      // also completes a start that wrote the state but crashed before the rekey entry
      const rekeyedNow = state.unkeyedThrough > 0 && last === state.unkeyedThrough;
      if (rekeyedNow) appendAudit(db, { actor: 'veil', role: 'system', action: REKEY_ACTION, target: rekeyTarget(state.unkeyedThrough) });
      return { ...state, rekeyedNow };
    })
    .immediate();
}
