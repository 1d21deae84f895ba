import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import helmet from 'helmet';
import { authenticate, callerIdOrUndefined } from './auth.js';
import type { ApiContext } from './context.js';
import { ApiError, toErrorResponse } from './errors.js';
import { openApiDocument } from './openapi.js';
import { auditRoutes } from './routes/audit.js';
import { jobReadRoutes, jobSubmitRoutes } from './routes/jobs.js';
import { policyRoutes } from './routes/policies.js';

/** The Express application over a context (database, runner, limits). No listening here. */
export function createApp(ctx: ApiContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  app.use(helmet());
  app.use(requestLog(ctx));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const openapi = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  const v1 = express.Router();
  v1.use(authenticate(ctx.db));
  v1.use(
    rateLimit({
      windowMs: 60_000,
      limit: ctx.limits.rateLimitPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: (req) => callerIdOrUndefined(req) ?? ipKeyGenerator(req.ip ?? 'unknown'),
      handler: (_req, _res, next) => next(new ApiError(429, 'RATE_LIMITED', `this key made more than ${ctx.limits.rateLimitPerMinute} requests in a minute; retry later`)),
    }),
  );
  v1.use('/policies', policyRoutes(ctx));
  v1.use('/', jobSubmitRoutes(ctx));
  v1.use('/jobs', jobReadRoutes(ctx));
  v1.use('/audit', auditRoutes(ctx));
  app.use('/v1', v1);

  app.use((_req, _res, next) => next(new ApiError(404, 'NOT_FOUND', 'no such route')));
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body, internal } = toErrorResponse(error);
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
