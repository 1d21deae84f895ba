import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { appendAudit } from './audit.js';
import type { Db } from './db.js';
import { ApiError } from './errors.js';
import { findApiKey, type ApiKeyRecord, type Role } from './keys.js';
import { changesState, CSRF_HEADER, csrfMatches, findSession, sessionCookieOf, type Session, type SessionSettings } from './session.js';

/** Who is calling: the key record behind the bearer token. */
export type Caller = ApiKeyRecord;

const callers = new WeakMap<Request, Caller>();

/** The authenticated caller of a request that went through `authenticate`. */
export function callerOf(req: Request): Caller {
  const caller = callers.get(req);
  if (!caller) throw new Error('route is missing the authenticate middleware');
  return caller;
}

export function callerIdOrUndefined(req: Request): string | undefined {
  return callers.get(req)?.id;
}

/** The session a request was authenticated by, when it came with the console's cookie. */
const sessions = new WeakMap<Request, Session>();

export function sessionOfRequest(req: Request): Session | undefined {
  return sessions.get(req);
}

/**
 * `Authorization: Bearer <key>`, or the console's session cookie → 401 when missing or
 * unknown. With the cookie (an ambient credential), a state-changing request must also carry
 * the session's token in X-CSRF-Token → 403 CSRF_FAILED (audited) otherwise. A bearer key is
 * never sent by a browser on its own, so bearer requests need no token.
 */
export function authenticate(db: Db, settings: SessionSettings): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header) {
      const cookie = sessionCookieOf(req);
      if (cookie === undefined) return next(new ApiError(401, 'UNAUTHENTICATED', 'send an API key as "Authorization: Bearer <key>", or sign in at POST /v1/session'));
      const session = findSession(db, cookie, settings);
      if (!session) return next(new ApiError(401, 'UNAUTHENTICATED', 'the session has ended (signed out, expired or its key was revoked); sign in again'));
      if (changesState(req.method) && !csrfMatches(session, req.get(CSRF_HEADER))) {
        const refusal = new ApiError(403, 'CSRF_FAILED', 'a request that changes something must carry the session\'s token in the X-CSRF-Token header');
        return next(auditedRefusal(db, { ...actorOf(session.caller), action: 'csrf.refused', target: `${req.method} ${`${req.baseUrl}${req.path}`.slice(0, 200)}` }, refusal));
      }
      callers.set(req, session.caller);
      sessions.set(req, session);
      return next();
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return next(new ApiError(401, 'UNAUTHENTICATED', 'the Authorization header must be "Bearer <key>"'));
    const caller = findApiKey(db, match[1]);
    if (!caller) return next(new ApiError(401, 'UNAUTHENTICATED', 'unknown API key'));
    callers.set(req, caller);
    next();
  };
}

/**
 * A 403 for `caller`, written to the audit log first (`access.denied`, target = the route
 * pattern), so auditors see who tried what with the wrong role.
 */
export function denied(db: Db, req: Request, caller: Caller, message: string): ApiError {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  const route = typeof pattern === 'string' ? `${req.method} ${req.baseUrl}${pattern}` : req.method;
  return auditedRefusal(db, { ...actorOf(caller), action: 'access.denied', target: route }, new ApiError(403, 'FORBIDDEN', message));
}

/**
 * Writes the audit entry of a refusal and returns the refusal. A refusal stays a refusal:
 * when the entry cannot be written (a full disk, a locked database), the error carries the
 * failure's name for the server log instead of turning a 403 into a 500.
 */
export function auditedRefusal(db: Db, entry: Parameters<typeof appendAudit>[1], refusal: ApiError): ApiError {
  try {
    appendAudit(db, entry);
  } catch (error) {
    refusal.auditFailure = error instanceof Error ? (('code' in error && typeof error.code === 'string' && error.code) || error.name) : typeof error;
  }
  return refusal;
}

/** 403 (audited) unless the caller has one of `roles`. */
export function requireRole(db: Db, ...roles: Role[]): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const caller = callerOf(req);
    if (!roles.includes(caller.role)) {
      return next(denied(db, req, caller, `this route needs the role ${roles.join(' or ')}; the key has the role ${caller.role}`));
    }
    next();
  };
}

/** The actor name written to the audit log. */
export function actorOf(caller: Caller): { actor: string; role: string } {
  return { actor: `${caller.name} (${caller.id})`, role: caller.role };
}
