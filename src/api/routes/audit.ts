import { Router, type Request, type Response } from 'express';
import { appendAudit, auditKeyOf, searchAudit, verifyAuditLog, type AuditEntry, type AuditFilter } from '../audit.js';
import { readChainState } from '../auditKey.js';
import { actorOf, callerOf, requireRole } from '../auth.js';
import type { ApiContext } from '../context.js';
import { csvLine } from '../csvExport.js';
import { ApiError } from '../errors.js';

const MAX_PAGE = 5000;

function nonNegativeInt(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,12}$/.test(value)) throw new ApiError(400, 'BAD_QUERY', `${field} is a non-negative integer`, field);
  return Number(value);
}

function textFilter(value: unknown, field: string, pattern: RegExp, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) throw new ApiError(400, 'BAD_QUERY', `${field} is ${what}`, field);
  return value;
}

/** An ISO date or date-time, as the log writes it (UTC, toISOString) so that strings compare as times. */
function timeFilter(value: unknown, field: string, endOfDay: boolean): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new ApiError(400, 'BAD_QUERY', `${field} is an ISO 8601 date or date-time, e.g. 2026-03-01 or 2026-03-01T08:00:00Z`, field);
  }
  // a bare date "to" includes that whole day
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) && endOfDay ? new Date(Date.parse(value) + 86_400_000 - 1) : new Date(value);
  return date.toISOString();
}

function auditFilter(req: Request): AuditFilter {
  return {
    action: textFilter(req.query.action, 'action', /^[a-z][a-z0-9_.-]{0,63}$/, 'an action such as policy.approve'),
    actor: textFilter(req.query.actor, 'actor', /^[\w .@()-]{1,100}$/, 'part of an actor name or key id'),
    from: timeFilter(req.query.from, 'from', false),
    to: timeFilter(req.query.to, 'to', true),
  };
}

const CSV_HEADER = ['seq', 'at', 'actor', 'role', 'action', 'target', 'policyName', 'policyVersion', 'policySha256', 'detail', 'prevHash', 'hash'];

function csvEntry(e: AuditEntry): string {
  return csvLine([e.seq, e.at, e.actor, e.role, e.action, e.target, e.policy?.name, e.policy?.version, e.policy?.sha256, e.detail ? JSON.stringify(e.detail) : '', e.prevHash, e.hash]);
}

/** The whole filtered log as a download, written slice by slice (the event loop gets a turn between slices). */
async function exportAudit(ctx: ApiContext, res: Response, filter: AuditFilter, format: 'csv' | 'json'): Promise<void> {
  res.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json').attachment(`veil-audit.${format}`);
  res.write(format === 'csv' ? csvLine(CSV_HEADER) : '[');
  let after = 0;
  let first = true;
  for (;;) {
    const slice = searchAudit(ctx.db, filter, after, MAX_PAGE);
    let chunk = '';
    for (const entry of slice) {
      chunk += format === 'csv' ? csvEntry(entry) : `${first ? '' : ','}\n${JSON.stringify(entry)}`;
      first = false;
    }
    if (chunk) res.write(chunk);
    const last = slice[slice.length - 1];
    if (slice.length < MAX_PAGE || !last) break;
    after = last.seq;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  res.end(format === 'csv' ? '' : '\n]\n');
}

/**
 * GET /v1/audit?after=<seq>&limit=<n>[&action=&actor=&from=&to=][&format=csv|json]: the
 * hash-chained audit log, oldest first; with a format, the whole filtered log as a download.
 */
export function auditRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', requireRole(ctx.db, 'auditor', 'committee'), async (req, res) => {
    const filter = auditFilter(req);
    const format = req.query.format;
    if (format !== undefined) {
      if (format !== 'csv' && format !== 'json') throw new ApiError(400, 'BAD_FORMAT', 'format is csv or json', 'format');
      appendAudit(ctx.db, { ...actorOf(callerOf(req)), action: 'audit.exported', target: `audit:${format}` });
      await exportAudit(ctx, res, filter, format);
      return;
    }
    const after = nonNegativeInt(req.query.after, 'after', 0);
    const limit = Math.min(MAX_PAGE, Math.max(1, nonNegativeInt(req.query.limit, 'limit', 1000)));
    const entries = searchAudit(ctx.db, filter, after, limit);
    const last = entries[entries.length - 1];
    let next: string | undefined;
    if (entries.length === limit && last) {
      const query = new URLSearchParams({ after: String(last.seq), limit: String(limit) });
      for (const key of ['action', 'actor', 'from', 'to'] as const) {
        const value = req.query[key];
        if (typeof value === 'string' && value !== '') query.set(key, value);
      }
      next = `/v1/audit?${query.toString()}`;
    }
    res.json({ entries, ...(next ? { next } : {}) });
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
