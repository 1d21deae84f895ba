import { availableParallelism } from 'node:os';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { VeilError } from '../errors.js';
import { createApp } from './app.js';
import { acquireDataDirLock } from './dataDirLock.js';
import { DEFAULT_LIMITS, type ApiContext, type ApiLimits } from './context.js';
import { loadAuditKey, openAuditChain } from './auditKey.js';
import { openDatabase } from './db.js';
import { realDisk, type DiskAccess } from './disk.js';
import { dataLayout } from './layout.js';
import { createLogger } from './logger.js';
import { JobRunner, type RunnerOptions } from './runner.js';
import type { QueueRunnerOptions } from './queue/queueRunner.js';
import type { DicomWebEndpoints } from './dicomSource.js';
import type { DicomListenerOptions, RunningDicomListener } from './dicomListener.js';
import { defaultConsoleDir } from './console.js';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from './session.js';
import { shouldWarmPreview, warmPreviewThread } from './preview.js';

export interface ApiOptions {
  dataDir: string;
  limits?: Partial<ApiLimits>;
  runner?: Partial<RunnerOptions>;
  /** Jobs go to BullMQ on this Redis instead of the embedded runner (`veil serve --queue`). */
  queue?: Pick<QueueRunnerOptions, 'connection' | 'chunkFiles' | 'distributedRows'>;
  logLevel?: string;
  logDestination?: DestinationStream;
  /** Hierarchy files policies may name without uploading them (read at PUT time). */
  hierarchyDir?: string;
  /** The audit log's MAC key; by default VEIL_AUDIT_KEY or <data-dir>/secrets/audit.key (created on first start). */
  auditKey?: Buffer;
  /** The disk edge (free space, upload writes); the real file system unless a test injects one. */
  disk?: DiskAccess;
  /** DICOMweb sources and destinations DICOM jobs may name (never a URL from a request). */
  dicomWeb?: DicomWebEndpoints;
  /** Console session timeouts (default: 30 min idle, 8 h absolute) and clock (tests inject one). */
  sessions?: Partial<SessionSettings>;
  /** Where the built console is (default: dist/console of the package). */
  consoleDir?: string;
  /** Run a DICOM listener in this process (`veil serve --dicom-port`); see dicomListener.ts. */
  dicomListener?: DicomListenerOptions;
  /** startServer warms the preview thread once it listens unless this is false (`--no-preview-warmup`). */
  previewWarmup?: boolean;
}

export interface Api {
  ctx: ApiContext;
  app: ReturnType<typeof createApp>;
  /** The DICOM listener, when the server runs one. */
  dicomListener?: RunningDicomListener;
  close(): Promise<void>;
}

export function defaultConcurrency(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

/**
 * Opens the data dir (database, layout), recovers jobs a crash interrupted, and builds the
 * app. Queued jobs start at once; `close()` stops job processes and closes the database.
 */
export async function createApi(options: ApiOptions): Promise<Api> {
  const layout = dataLayout(options.dataDir);
  await mkdir(layout.root, { recursive: true });
  const unlock = acquireDataDirLock(layout.root);
  // uploads of requests a crash cut short
  await rm(layout.uploads, { recursive: true, force: true });
  await mkdir(layout.uploads, { recursive: true });
  await removeTempPolicyDirs(join(layout.root, 'policies'));
  const db = openDatabase(layout.root);
  // the audit key is read here, at the server's edge, and only passed on from here
  let chain: ReturnType<typeof openAuditChain>;
  try {
    chain = openAuditChain(db, layout.root, options.auditKey ?? loadAuditKey(layout.root, process.env, { create: true }).key);
  } catch (error) {
    db.close();
    unlock();
    throw error;
  }
  const logger = createLogger(options.logLevel ?? 'info', options.logDestination);
  if (chain.rekeyedNow) {
    // expected once, on the first start after an upgrade; any other time secrets/audit-chain.json was lost
    logger.warn({ unkeyedThrough: chain.unkeyedThrough }, 'audit log: the existing entries were taken as unkeyed (written before audit keys) and closed with a chain.rekeyed entry');
  }
  const runnerOptions = {
    concurrency: options.runner?.concurrency ?? defaultConcurrency(),
    jobTimeoutMs: options.runner?.jobTimeoutMs ?? 2 * 60 * 60 * 1000,
    maxAttempts: options.runner?.maxAttempts ?? 2,
    maxCellBytes: options.runner?.maxCellBytes,
    workerFile: options.runner?.workerFile,
  };
  let runner: Pick<JobRunner, 'recover' | 'kick' | 'cancel' | 'close'>;
  let queueHealth: ApiContext['queueHealth'];
  if (options.queue) {
    // loaded only with --queue: the embedded default never loads BullMQ
    const { QueueRunner } = await import('./queue/queueRunner.js');
    try {
      const queueRunner = await QueueRunner.open(db, layout, logger, { ...runnerOptions, ...options.queue });
      runner = queueRunner;
      queueHealth = () => queueRunner.health();
    } catch (error) {
      db.close();
      unlock();
      throw error;
    }
  } else {
    runner = new JobRunner(db, layout, logger, runnerOptions);
  }
  const ctx: ApiContext = {
    db,
    layout,
    logger,
    runner,
    queueHealth,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    disk: options.disk ?? realDisk,
    hierarchyDir: options.hierarchyDir,
    dicomWeb: options.dicomWeb,
    sessions: { ...DEFAULT_SESSION_SETTINGS, ...options.sessions },
    consoleDir: options.consoleDir ?? defaultConsoleDir(),
    maxCellBytes: options.runner?.maxCellBytes,
  };
  runner.recover();
  const app = createApp(ctx);
  runner.kick();
  let dicomListener: RunningDicomListener | undefined;
  if (options.dicomListener) {
    try {
      // loaded only with --dicom-port: the server never loads the DIMSE library otherwise
      dicomListener = await (await import('./dicomListener.js')).startDicomListener(ctx, options.dicomListener);
    } catch (error) {
      await runner.close();
      db.close();
      unlock();
      throw error;
    }
  }
  return {
    ctx,
    app,
    dicomListener,
    async close() {
      await dicomListener?.close();
      await runner.close();
      db.close();
      unlock();
    },
  };
}

async function removeTempPolicyDirs(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.startsWith('.tmp-')).map((n) => rm(join(dir, n), { recursive: true, force: true })));
}

export interface RunningServer {
  api: Api;
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** createApi + listen, with request and header timeouts. */
export async function startServer(options: ApiOptions & { port: number; host?: string }): Promise<RunningServer> {
  const api = await createApi(options);
  const server = createServer(api.app);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
      server.listen({ port: options.port, host: options.host });
    });
  } catch (error) {
    await api.close();
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code === 'EADDRINUSE') throw new VeilError('USAGE', `port ${options.port} is already in use`, { field: '--port' });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new VeilError('USAGE', 'the address to listen on is not available here', { field: '--host' });
    if (code === 'EACCES') throw new VeilError('USAGE', `no permission to listen on port ${options.port}`, { field: '--port' });
    throw error;
  }
  // an upload may take a while; a client that sends headers slowly may not
  server.requestTimeout = 15 * 60 * 1000;
  server.headersTimeout = 30 * 1000;
  // Longer than a client's own idle timeout (undici 4 s, proxies typically 60 s): a client that
  // pauses between requests (parsing a downloaded result, say) must not send its next request on
  // a connection the server closed under it, which fails as "other side closed".
  server.keepAliveTimeout = 65 * 1000;
  const port = (server.address() as AddressInfo).port;
  api.ctx.logger.info({ port, dataDir: options.dataDir }, 'listening');
  // the first policy preview should not pay for loading the tabular engine: load it now, in its
  // thread (the built server only: from the TS sources it would mostly compile TypeScript)
  if (shouldWarmPreview(options.previewWarmup)) {
    warmPreviewThread(
      join(api.ctx.layout.uploads, 'preview-warm-up'),
      (reason) => api.ctx.logger.warn({ reason }, 'the preview thread did not warm up; the first preview loads the engine itself'),
      (ms) => api.ctx.logger.debug({ ms: Math.round(ms) }, 'preview thread warm'),
    );
  }
  return {
    api,
    server,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await api.close();
    },
  };
}
