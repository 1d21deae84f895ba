import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import helmet from 'helmet';
import { authenticate, callerIdOrUndefined } from './auth.js';
import { consoleRoutes } from './console.js';
import type { ApiContext } from './context.js';
import { ApiError, toErrorResponse } from './errors.js';
import { openApiDocument } from './openapi.js';
import { auditRoutes } from './routes/audit.js';
import { jobReadRoutes, jobSubmitRoutes } from './routes/jobs.js';
import { policyRoutes } from './routes/policies.js';
import { sessionRoutes } from './routes/session.js';

/** The Express application over a context (database, runner, limits). No listening here. */
export function createApp(ctx: ApiContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  app.use(helmet());
  app.use(requestLog(ctx));

  // degraded (503) when the data dir is short of space: uploads and jobs would fail with DISK_FULL
  app.get('/healthz', async (_req, res) => {
    let freeBytes: number | null = null;
    try {
      freeBytes = await ctx.disk.freeBytes(ctx.layout.root);
    } catch (error) {
      ctx.logger.error({ err: { name: error instanceof Error ? error.name : typeof error } }, 'free-space probe failed');
    }
    // with --queue, jobs can be neither queued nor followed while Redis does not answer
    const queue = ctx.queueHealth ? await ctx.queueHealth() : undefined;
    const degraded = freeBytes === null || freeBytes < ctx.limits.minFreeBytes || queue?.reachable === false;
    res.status(degraded ? 503 : 200).json({ status: degraded ? 'degraded' : 'ok', freeBytes, minFreeBytes: ctx.limits.minFreeBytes, ...(queue ? { queue } : {}) });
  });
  const openapi = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  const v1 = express.Router();
  // per client address before authentication, so unknown keys and failed attempts count too
  const perIp = ctx.limits.rateLimitPerIpPerMinute ?? 5 * ctx.limits.rateLimitPerMinute;
  v1.use(
    rateLimit({
      windowMs: 60_000,
      limit: perIp,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      identifier: 'per-address',
      keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
      handler: (_req, _res, next) => next(new ApiError(429, 'RATE_LIMITED', `this address made more than ${perIp} requests in a minute; retry later`)),
    }),
  );
  // sign-in, who-am-I and sign-out read the key or the cookie themselves
  v1.use('/session', sessionRoutes(ctx));
  v1.use(authenticate(ctx.db, ctx.sessions));
  v1.use(
    rateLimit({
      windowMs: 60_000,
      limit: ctx.limits.rateLimitPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      identifier: 'per-key',
      keyGenerator: (req) => callerIdOrUndefined(req) ?? ipKeyGenerator(req.ip ?? 'unknown'),
      handler: (_req, _res, next) => next(new ApiError(429, 'RATE_LIMITED', `this key made more than ${ctx.limits.rateLimitPerMinute} requests in a minute; retry later`)),
    }),
  );
  v1.use('/policies', policyRoutes(ctx));
  v1.use('/', jobSubmitRoutes(ctx));
  v1.use('/jobs', jobReadRoutes(ctx));
  v1.use('/audit', auditRoutes(ctx));
  app.use('/v1', v1);
  // the web console at / (static files, then index.html for its client routes)
  app.use(consoleRoutes(ctx));

  app.use((_req, _res, next) => next(new ApiError(404, 'NOT_FOUND', 'no such route')));
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body, internal } = toErrorResponse(error);
    if (error instanceof ApiError && error.auditFailure) {
      ctx.logger.error({ err: { name: error.auditFailure }, route: routeOf(req), status }, 'audit entry of a refusal could not be written');
    }
    if (status === 507) ctx.logger.error({ route: routeOf(req) }, 'out of disk space');
    if (internal) {
      // name only: messages of unexpected errors may quote data
      ctx.logger.error({ err: { name: error instanceof Error ? error.name : typeof error }, route: routeOf(req) }, 'internal error');
      if (process.env.VEIL_DEBUG && error instanceof Error) ctx.logger.debug({ stack: error.stack }, 'internal error stack');
    }
    if (res.headersSent) return res.end();
    res.status(status).json(body);
  });
  return app;
}

/** The route pattern (never the raw URL, which could carry names) for logs. */
function routeOf(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  return typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : 'unmatched';
}

function requestLog(ctx: ApiContext) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.logger.info({ method: req.method, route: routeOf(req), status: res.statusCode, ms: Math.round(ms * 10) / 10, keyId: callerIdOrUndefined(req) }, 'request');
    });
    next();
  };
}
