import express, { Router } from 'express';
import { appendAudit } from '../audit.js';
import { actorOf, auditedRefusal } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { findApiKey } from '../keys.js';
import { clearSessionCookie, createSession, CSRF_HEADER, csrfMatches, deleteSession, findSession, sessionCookieOf, sessionView, setSessionCookie } from '../session.js';

/**
 * POST /v1/session (sign in with a key), GET /v1/session (who am I, and the CSRF token),
 * DELETE /v1/session (sign out). Mounted before authentication: they read the key or the
 * cookie themselves. The per-address rate limit applies to them like to every /v1 route.
 */
export function sessionRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.post('/', express.json({ limit: '4kb' }), (req, res) => {
    if (!req.is('application/json')) throw new ApiError(400, 'UNSUPPORTED_MEDIA_TYPE', 'send {"key": "<API key>"} as application/json');
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const key = body.key;
    if (typeof key !== 'string' || key.length === 0) throw new ApiError(400, 'BAD_FIELD', 'send the API key as the "key" field', 'key');
    const caller = findApiKey(ctx.db, key.trim());
    if (!caller) {
      // no key material in the entry: only that a sign-in was refused
      throw auditedRefusal(ctx.db, { actor: 'unknown', role: 'none', action: 'session.refused', target: 'session' }, new ApiError(401, 'UNAUTHENTICATED', 'unknown API key'));
    }
    const previous = sessionCookieOf(req);
    const { cookieValue, session } = ctx.db
      .transaction(() => {
        // signing in again replaces the browser's earlier session
        if (previous !== undefined) deleteSession(ctx.db, previous);
        const created = createSession(ctx.db, caller, ctx.sessions);
        appendAudit(ctx.db, { ...actorOf(caller), action: 'session.created', target: `key:${caller.id}` });
        return created;
      })
      .immediate();
    setSessionCookie(req, res, cookieValue);
    res.set('Cache-Control', 'no-store');
    res.json(sessionView(session));
  });

  router.get('/', (req, res) => {
    const cookie = sessionCookieOf(req);
    const session = cookie === undefined ? undefined : findSession(ctx.db, cookie, ctx.sessions);
    if (!session) {
      if (cookie !== undefined) clearSessionCookie(req, res);
      throw new ApiError(401, 'UNAUTHENTICATED', 'not signed in (or the session has ended); sign in at POST /v1/session');
    }
    res.set('Cache-Control', 'no-store');
    res.json(sessionView(session));
  });

  router.delete('/', (req, res) => {
    const cookie = sessionCookieOf(req);
    const session = cookie === undefined ? undefined : findSession(ctx.db, cookie, ctx.sessions);
    if (cookie !== undefined && session) {
      if (!csrfMatches(session, req.get(CSRF_HEADER))) {
        throw auditedRefusal(
          ctx.db,
          { ...actorOf(session.caller), action: 'csrf.refused', target: 'DELETE /v1/session' },
          new ApiError(403, 'CSRF_FAILED', "signing out must carry the session's token in the X-CSRF-Token header"),
        );
      }
      ctx.db.transaction(() => {
        deleteSession(ctx.db, cookie);
        appendAudit(ctx.db, { ...actorOf(session.caller), action: 'session.deleted', target: `key:${session.caller.id}` });
      })();
    }
    // an ended session's cookie is cleared too, so the browser forgets it
    clearSessionCookie(req, res);
    res.status(204).end();
  });

  return router;
}
