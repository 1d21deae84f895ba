import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { ApiContext } from './context.js';

/**
 * The web console: the static files Vite builds from console/ into dist/console/, served at
 * `/`. Any GET of a path that is not an API path and names no file answers index.html, so a
 * client route such as /auditor/jobs survives a reload. The console talks only to /v1.
 */

/** The console pages' policy: scripts and styles from this origin only, never inline. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

/**
 * dist/console of the package: from the compiled server (dist/api/console.js) it is
 * ../console; from the TS sources (src/api/console.ts under tsx) it is ../../dist/console.
 */
export function defaultConsoleDir(): string {
  const here = import.meta.url;
  return fileURLToPath(new URL(here.endsWith('.ts') ? '../../dist/console/' : '../console/', here));
}

/** Paths the console never answers: the API's. */
function isApiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/') || path === '/openapi.json' || path === '/healthz';
}

/** A last segment with a dot names a file (an asset): a missing one is a 404, not the app. */
function namesFile(path: string): boolean {
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last.includes('.');
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Veil console</title></head>
<body>
<h1>Veil console</h1>
<p>The console is not built: run npm run build</p>
<p>The API answers at <a href="/openapi.json">/openapi.json</a> and /v1.</p>
</body>
</html>
`;

function consoleHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Frame-Options', 'SAMEORIGIN');
}

/** Static files of the console, then index.html for client routes. Mounted after /v1. */
export function consoleRoutes(ctx: ApiContext): RequestHandler[] {
  const assets = express.static(ctx.consoleDir, {
    index: false,
    redirect: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders: (res, path) => {
      consoleHeaders(res);
      // Vite names assets by content hash: they never change under one name
      if (relative(ctx.consoleDir, path).startsWith(join('assets', ''))) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      else res.setHeader('Cache-Control', 'no-cache');
    },
  });
  const guarded: RequestHandler = (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isApiPath(req.path)) return next();
    assets(req, res, next);
  };
  const app: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isApiPath(req.path) || namesFile(req.path)) return next();
    consoleHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    const index = join(ctx.consoleDir, 'index.html');
    if (!existsSync(index)) {
      res.status(200).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
      return;
    }
    res.type('text/html; charset=utf-8');
    res.sendFile(index, (error?: Error) => {
      if (error && !res.headersSent) next(error);
    });
  };
  return [guarded, app];
}
