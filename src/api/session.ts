import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { statement, type Db } from './db.js';
import type { ApiKeyRecord } from './keys.js';
import { isRole } from './roles.js';

/**
 * Console sessions. Signing in with an API key gives an httpOnly, SameSite=Strict cookie
 * holding 32 random bytes; the database keeps only their sha256, so a copy of the database
 * lets nobody in. The page scripts never hold the key: they hold the session's CSRF token,
 * which every state-changing request made with the cookie must echo in X-CSRF-Token.
 */
export const SESSION_COOKIE = 'veil_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionSettings {
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after sign-in, used or not. */
  absoluteMs: number;
  /** The clock (ms since the epoch); tests inject one to expire sessions without waiting. */
  now: () => number;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = {
  idleMs: 30 * 60_000,
  absoluteMs: 8 * 60 * 60_000,
  now: () => Date.now(),
};

/** A live session: who it signs in as, its CSRF token and when it ends unless used again. */
export interface Session {
  caller: ApiKeyRecord;
  csrfToken: string;
  expiresAt: number;
}

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Starts a session for `caller`; returns the cookie value (given to the browser once, never stored). */
export function createSession(db: Db, caller: ApiKeyRecord, settings: SessionSettings): { cookieValue: string; session: Session } {
  const now = settings.now();
  const cookieValue = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = Math.min(now + settings.idleMs, now + settings.absoluteMs);
  // ended sessions go when a new one starts, so the table stays the size of the live ones
  statement(db, 'DELETE FROM sessions WHERE expires_at <= ?').run(now);
  statement(db, 'INSERT INTO sessions (id_hash, key_id, csrf_token, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    sha256(cookieValue),
    caller.id,
    csrfToken,
    now,
    now,
    expiresAt,
  );
  return { cookieValue, session: { caller, csrfToken, expiresAt } };
}

interface SessionRow {
  id_hash: string;
  csrf_token: string;
  created_at: number;
  last_seen: number;
  expires_at: number;
  key_id: string | null;
  name: string | null;
  role: string | null;
  key_created_at: string | null;
}

/**
 * The live session of a cookie value, or undefined. An ended session (idle, past its absolute
 * limit, or whose key was deleted) is removed here. Use extends the idle deadline; the row is
 * written at most once per tenth of the idle timeout (at most once a minute), not on every request.
 */
export function findSession(db: Db, cookieValue: string, settings: SessionSettings): Session | undefined {
  if (!COOKIE_VALUE.test(cookieValue)) return undefined;
  const idHash = sha256(cookieValue);
  const row = statement(
    db,
    `SELECT s.id_hash, s.csrf_token, s.created_at, s.last_seen, s.expires_at, k.id AS key_id, k.name, k.role, k.created_at AS key_created_at
     FROM sessions s LEFT JOIN api_keys k ON k.id = s.key_id WHERE s.id_hash = ?`,
  ).get(idHash) as SessionRow | undefined;
  if (!row) return undefined;
  const now = settings.now();
  if (now >= row.expires_at || row.key_id === null || row.name === null || row.role === null || !isRole(row.role)) {
    statement(db, 'DELETE FROM sessions WHERE id_hash = ?').run(idHash);
    return undefined;
  }
  let expiresAt = row.expires_at;
  if (now - row.last_seen >= Math.min(60_000, settings.idleMs / 10)) {
    expiresAt = Math.min(now + settings.idleMs, row.created_at + settings.absoluteMs);
    statement(db, 'UPDATE sessions SET last_seen = ?, expires_at = ? WHERE id_hash = ?').run(now, expiresAt, idHash);
  }
  return {
    caller: { id: row.key_id, name: row.name, role: row.role, createdAt: row.key_created_at ?? '' },
    csrfToken: row.csrf_token,
    expiresAt,
  };
}

export function deleteSession(db: Db, cookieValue: string): void {
  statement(db, 'DELETE FROM sessions WHERE id_hash = ?').run(sha256(cookieValue));
}

/** The session cookie's value from the Cookie header (no cookie library: one name is read). */
export function sessionCookieOf(req: Request): string | undefined {
  const header = req.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `Secure` only when the request reached this server over https (behind no proxy: trust proxy is off). */
function cookieAttributes(req: Request): string {
  return `HttpOnly; SameSite=Strict; Path=/${req.secure ? '; Secure' : ''}`;
}

export function setSessionCookie(req: Request, res: Response, cookieValue: string): void {
  res.append('Set-Cookie', `${SESSION_COOKIE}=${cookieValue}; ${cookieAttributes(req)}`);
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.append('Set-Cookie', `${SESSION_COOKIE}=; Max-Age=0; ${cookieAttributes(req)}`);
}

/** Constant-time comparison of the presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(session.csrfToken, 'utf8');
  const given = Buffer.from(presented, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Methods that change state: with the cookie, they need the CSRF token. */
export function changesState(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/** What GET/POST /v1/session answer. */
export function sessionView(session: Session): { role: string; name: string; keyId: string; csrfToken: string; expiresAt: string } {
  return { role: session.caller.role, name: session.caller.name, keyId: session.caller.id, csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString() };
}
