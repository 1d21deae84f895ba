import type { Db } from './db.js';
import type { DiskAccess } from './disk.js';
import type { DataLayout } from './layout.js';
import type { DicomWebEndpoints } from './dicomSource.js';
import type { Logger } from './logger.js';
import type { JobRunner } from './runner.js';
import type { SessionSettings } from './session.js';

/** Size and rate limits of one server. */
export interface ApiLimits {
  /** Largest upload of one job (all files together), in bytes. */
  maxUploadBytes: number;
  /** Most files in one DICOM or image job (also the most entries of a zip). */
  maxFiles: number;
  /** Largest policy body and hierarchy file, in bytes. */
  maxPolicyBytes: number;
  /** Most bytes a zip upload may expand to. */
  maxExpandedBytes: number;
  /** Requests per minute per API key. */
  rateLimitPerMinute: number;
  /**
   * Requests per minute per client address, counted before authentication (so unknown and
   * failed keys count too). Default: 5 × `rateLimitPerMinute`.
   */
  rateLimitPerIpPerMinute?: number;
  /** Below this many free bytes in the data dir, `/healthz` answers `degraded` (503). */
  minFreeBytes: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxUploadBytes: 512 * 1024 * 1024,
  maxFiles: 10_000,
  maxPolicyBytes: 8 * 1024 * 1024,
  maxExpandedBytes: 2 * 1024 * 1024 * 1024,
  rateLimitPerMinute: 1200,
  minFreeBytes: 1024 * 1024 * 1024,
};

/** Whether the queue's Redis answered a PING, and its round trip in ms (null when it did not). */
export interface QueueHealth {
  reachable: boolean;
  latencyMs: number | null;
}

/** Everything a route handler needs; built once per server. */
export interface ApiContext {
  db: Db;
  layout: DataLayout;
  logger: Logger;
  /** The embedded JobRunner, or the QueueRunner of `veil serve --queue` (routes kick it and cancel jobs). */
  runner: Pick<JobRunner, 'kick' | 'cancel'>;
  limits: ApiLimits;
  /** With `veil serve --queue`: one round trip to the queue's Redis, for /healthz. */
  queueHealth?: () => Promise<QueueHealth>;
  /** Free-space probe and upload write stream (tests inject a full disk here). */
  disk: DiskAccess;
  /** Operator's folder of hierarchy files that policies may name without uploading them. */
  hierarchyDir?: string;
  /** DICOMweb sources and destinations DICOM jobs may name (veil serve --dicomweb-source). */
  dicomWeb?: DicomWebEndpoints;
  /** Console sessions: idle and absolute timeouts, and the clock they are measured on. */
  sessions: SessionSettings;
  /** The built console (index.html and its assets); see console.ts. */
  consoleDir: string;
  /** Largest CSV cell of a tabular job or preview (RunnerOptions.maxCellBytes). */
  maxCellBytes?: number;
}
