import { nowIso, statement, type Db } from './db.js';

export const JOB_KINDS = ['tabular', 'dicom', 'image'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** States a job never leaves. */
export const FINISHED_STATUSES: readonly JobStatus[] = ['done', 'failed', 'cancelled'];

export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

export interface JobError {
  code: string;
  message: string;
  field?: string;
}

/**
 * Where a DICOM job's input came from when it was not uploaded: the operator-configured
 * DICOMweb source (and destination) by name, and how many studies were selected (null until
 * the job process has run a query). Never a UID, a query or a URL.
 */
export interface JobSource {
  dicomweb: string;
  studies: number | null;
  destination?: string;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  status: JobStatus;
  progress: number;
  ownerKeyId: string;
  policyVersionId: number;
  /** Tightened privacy model for tabular jobs (JSON), when the request had overrides. */
  overrides: unknown;
  inputCount: number;
  attempts: number;
  error: JobError | null;
  /** Set for a job pulled from a configured DICOMweb source. */
  source: JobSource | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface JobRow {
  id: string;
  kind: JobKind;
  status: JobStatus;
  progress: number;
  owner_key_id: string;
  policy_version_id: number;
  overrides: string | null;
  input_count: number;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  error_field: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  source: string | null;
}

function fromRow(row: JobRow): JobRecord {
  const error: JobError | null =
    row.error_code !== null ? { code: row.error_code, message: row.error_message ?? '', ...(row.error_field ? { field: row.error_field } : {}) } : null;
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    progress: row.progress,
    ownerKeyId: row.owner_key_id,
    policyVersionId: row.policy_version_id,
    overrides: row.overrides === null ? null : (JSON.parse(row.overrides) as unknown),
    inputCount: row.input_count,
    attempts: row.attempts,
    error,
    source: row.source ? (JSON.parse(row.source) as JobSource) : null,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export function insertJob(
  db: Db,
  job: { id: string; kind: JobKind; ownerKeyId: string; policyVersionId: number; overrides: unknown; inputCount: number; source?: JobSource | null },
): JobRecord {
  statement(
    db,
    `INSERT INTO jobs (id, kind, status, progress, owner_key_id, policy_version_id, overrides, input_count, source, created_at)
     VALUES (?, ?, 'queued', 0, ?, ?, ?, ?, ?, ?)`,
  ).run(job.id, job.kind, job.ownerKeyId, job.policyVersionId, job.overrides === null || job.overrides === undefined ? null : JSON.stringify(job.overrides), job.inputCount, job.source ? JSON.stringify(job.source) : null, nowIso());
  return getJob(db, job.id) as JobRecord;
}

export function getJob(db: Db, id: string): JobRecord | undefined {
  const row = statement(db, 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  return row ? fromRow(row) : undefined;
}

export function listJobs(db: Db, filter: { ownerKeyId?: string; limit: number }): JobRecord[] {
  const rows = (
    filter.ownerKeyId
      ? statement(db, 'SELECT * FROM jobs WHERE owner_key_id = ? ORDER BY created_at DESC LIMIT ?').all(filter.ownerKeyId, filter.limit)
      : statement(db, 'SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?').all(filter.limit)
  ) as JobRow[];
  return rows.map(fromRow);
}

/** Jobs newest first, narrowed by any of owner, kind, status and policy name. */
export function searchJobs(db: Db, filter: { ownerKeyId?: string; kind?: JobKind; status?: JobStatus; policyName?: string; limit: number }): JobRecord[] {
  const rows = statement(
    db,
    `SELECT j.* FROM jobs j JOIN policy_versions p ON p.id = j.policy_version_id
     WHERE (@owner IS NULL OR j.owner_key_id = @owner) AND (@kind IS NULL OR j.kind = @kind) AND (@status IS NULL OR j.status = @status) AND (@policy IS NULL OR p.name = @policy)
     ORDER BY j.created_at DESC LIMIT @limit`,
  ).all({ owner: filter.ownerKeyId ?? null, kind: filter.kind ?? null, status: filter.status ?? null, policy: filter.policyName ?? null, limit: filter.limit }) as JobRow[];
  return rows.map(fromRow);
}

export function jobsWithStatus(db: Db, status: JobStatus): JobRecord[] {
  return (statement(db, 'SELECT * FROM jobs WHERE status = ? ORDER BY created_at').all(status) as JobRow[]).map(fromRow);
}

/** queued → running; false when another runner took it first. */
export function markRunning(db: Db, id: string): boolean {
  const info = statement(db, "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?, progress = 0 WHERE id = ? AND status = 'queued'").run(nowIso(), id);
  return info.changes === 1;
}

/** What a source job's process pulled: studies selected and instances retrieved (its input files). */
export function setSourcePulled(db: Db, id: string, pulled: { studies: number; instances: number }): void {
  const job = getJob(db, id);
  if (!job?.source) return;
  statement(db, 'UPDATE jobs SET source = ?, input_count = ? WHERE id = ?').run(JSON.stringify({ ...job.source, studies: pulled.studies }), pulled.instances, id);
}

export function setProgress(db: Db, id: string, progress: number): void {
  statement(db, "UPDATE jobs SET progress = ? WHERE id = ? AND status = 'running'").run(progress, id);
}

/** → done, with its report; false (nothing written) when the job had already ended (e.g. cancelled meanwhile). */
export function markDone(db: Db, id: string, reportJson: string, hasHtml: boolean): boolean {
  return db.transaction(() => {
    const info = statement(db, "UPDATE jobs SET status = 'done', progress = 1, finished_at = ?, error_code = NULL, error_message = NULL, error_field = NULL WHERE id = ? AND status IN ('queued', 'running')").run(nowIso(), id);
    if (info.changes !== 1) return false;
    statement(db, 'INSERT OR REPLACE INTO reports (job_id, json, has_html) VALUES (?, ?, ?)').run(id, reportJson, hasHtml ? 1 : 0);
    return true;
  })();
}

/** → failed; false when the job had already ended (a cancelled job stays cancelled). */
export function markFailed(db: Db, id: string, error: JobError): boolean {
  const info = statement(db, "UPDATE jobs SET status = 'failed', finished_at = ?, error_code = ?, error_message = ?, error_field = ? WHERE id = ? AND status IN ('queued', 'running')").run(
    nowIso(),
    error.code,
    error.message,
    error.field ?? null,
    id,
  );
  return info.changes === 1;
}

/** queued or running → cancelled; false when the job had already ended. */
export function markCancelled(db: Db, id: string): boolean {
  const info = statement(db, "UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ? AND status IN ('queued', 'running')").run(nowIso(), id);
  return info.changes === 1;
}

/** running → queued; `refundAttempt` when the run was stopped by an orderly shutdown. */
export function requeue(db: Db, id: string, options: { refundAttempt?: boolean } = {}): void {
  const refund = options.refundAttempt ? 1 : 0;
  statement(db, "UPDATE jobs SET status = 'queued', progress = 0, started_at = NULL, attempts = MAX(0, attempts - ?) WHERE id = ? AND status = 'running'").run(refund, id);
}

export function getReport(db: Db, jobId: string): { json: string; hasHtml: boolean } | undefined {
  const row = statement(db, 'SELECT json, has_html FROM reports WHERE job_id = ?').get(jobId) as { json: string; has_html: number } | undefined;
  return row ? { json: row.json, hasHtml: row.has_html === 1 } : undefined;
}
