import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from './db.js';
import { ApiError } from './errors.js';
import { findApiKey, type ApiKeyRecord, type Role } from './keys.js';

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

/** `Authorization: Bearer <key>` → 401 when missing or unknown. */
export function authenticate(db: Db): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header) return next(new ApiError(401, 'UNAUTHENTICATED', 'send an API key as "Authorization: Bearer <key>"'));
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return next(new ApiError(401, 'UNAUTHENTICATED', 'the Authorization header must be "Bearer <key>"'));
    const caller = findApiKey(db, match[1]);
    if (!caller) return next(new ApiError(401, 'UNAUTHENTICATED', 'unknown API key'));
    callers.set(req, caller);
    next();
  };
}

/** 403 unless the caller has one of `roles`. */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const caller = callerOf(req);
    if (!roles.includes(caller.role)) {
      return next(new ApiError(403, 'FORBIDDEN', `this route needs the role ${roles.join(' or ')}; the key has the role ${caller.role}`));
    }
    next();
  };
}

/** The actor name written to the audit log. */
export function actorOf(caller: Caller): { actor: string; role: string } {
  return { actor: `${caller.name} (${caller.id})`, role: caller.role };
}
