import { Router } from 'express';
import { auditKeyOf, listAudit, verifyAuditLog } from '../audit.js';
import { readChainState } from '../auditKey.js';
import { requireRole } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';

const MAX_PAGE = 5000;

function nonNegativeInt(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,12}$/.test(value)) throw new ApiError(400, 'BAD_QUERY', `${field} is a non-negative integer`, field);
  return Number(value);
}

/** GET /v1/audit?after=<seq>&limit=<n>: the hash-chained audit log, oldest first. */
export function auditRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', requireRole(ctx.db, 'auditor', 'committee'), (req, res) => {
    const after = nonNegativeInt(req.query.after, 'after', 0);
    const limit = Math.min(MAX_PAGE, Math.max(1, nonNegativeInt(req.query.limit, 'limit', 1000)));
    const entries = listAudit(ctx.db, after, limit);
    const last = entries[entries.length - 1];
    res.json({ entries, ...(entries.length === limit && last ? { next: `/v1/audit?after=${last.seq}&limit=${limit}` } : {}) });
  });
  /**
   * GET /v1/audit/verify[?expectHead=<hash>]: re-checks every entry's MAC and link.
   * `head` is what an auditor writes down outside Veil; passing it back later as expectHead
   * also detects entries deleted from the end.
   */
  router.get('/verify', requireRole(ctx.db, 'auditor'), async (req, res) => {
    const expectHead = req.query.expectHead;
    if (expectHead !== undefined && (typeof expectHead !== 'string' || !/^[a-f0-9]{64}$/.test(expectHead))) {
      throw new ApiError(400, 'BAD_QUERY', 'expectHead is a head hash as /v1/audit/verify printed it (64 hex digits)', 'expectHead');
    }
    const state = readChainState(ctx.layout.root);
    const verdict = await verifyAuditLog(ctx.db, { key: auditKeyOf(ctx.db), unkeyedThrough: state?.unkeyedThrough ?? 0, expectHead });
    res.json(verdict);
  });
  return router;
}
