import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Router, type Request, type Response } from 'express';
import { loadPolicy } from '../../policy/load.js';
import type { PrivacySpec } from '../../policy/sections/tabular.js';
import { tightenPrivacy } from '../../policy/tighten.js';
import { appendAudit } from '../audit.js';
import { auditSource, isSourceRequest, placeSourceInput, sourceJobBody } from '../dicomSource.js';
import { actorOf, auditedRefusal, callerOf, denied, requireRole, type Caller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError, statusForCode } from '../errors.js';
import { getJob, getReport, insertJob, isFinished, markCancelled, searchJobs, type JobKind, type JobRecord, type JobSource } from '../jobStore.js';
import { csvLine } from '../csvExport.js';
import { statement } from '../db.js';
import { OUTPUT_FILES } from '../layout.js';
import { getPolicyVersion, getPolicyVersionById, policyRef, type PolicyVersion } from '../policyStore.js';
import { extractZipSafely } from '../zip.js';
import { imageExtension, isZip, jobUpload, readHead, removeUploads, uploadedFiles } from '../uploads.js';
import { parseVersion } from './policies.js';

/** The policy section each job kind needs. */
const SECTION: Record<JobKind, string> = { tabular: 'tabular', dicom: 'dicom', image: 'pixels' };
const NAME = /^(?!\.+$)[A-Za-z0-9._-]{1,100}$/;

function formField(req: Request, name: string): string | undefined {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ApiError(400, 'BAD_FIELD', `the form field "${name}" must be given once, as text`, name);
  return value;
}

/** The approved policy version a job runs on: the latest, or the pinned `policyVersion`. */
function approvedPolicyFor(ctx: ApiContext, req: Request, kind: JobKind, caller: Caller): PolicyVersion {
  const name = formField(req, 'policy');
  if (!name) throw new ApiError(400, 'POLICY_MISSING', 'name the policy in the "policy" form field', 'policy');
  if (!NAME.test(name)) throw new ApiError(400, 'BAD_NAME', 'a policy name is 1–100 letters, digits, ".", "_" or "-"', 'policy');
  const pinned = parseVersion(formField(req, 'policyVersion'), 'policyVersion');
  const version = getPolicyVersion(ctx.db, name, pinned);
  if (!version) throw new ApiError(404, 'POLICY_NOT_FOUND', pinned ? 'no such policy version' : 'no policy with this name', 'policy');
  if (!version.approved) {
    const refusal = new ApiError(409, 'POLICY_NOT_APPROVED', `version ${version.version} of this policy is not approved by the committee`, 'policy');
    throw auditedRefusal(ctx.db, { ...actorOf(caller), action: 'job.refused', target: `${kind}-job`, policy: policyRef(version) }, refusal);
  }
  if (!version.sections.includes(SECTION[kind])) {
    throw new ApiError(400, 'POLICY_SECTION_MISSING', `the policy has no "${SECTION[kind]}" section, which a ${kind} job needs`, 'policy');
  }
  return version;
}

async function tightenedPrivacy(ctx: ApiContext, req: Request, version: PolicyVersion): Promise<PrivacySpec | null> {
  const text = formField(req, 'overrides');
  if (text === undefined || text.trim() === '') return null;
  let overrides: unknown;
  try {
    overrides = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'BAD_JSON', 'overrides must be a JSON object such as {"k": 10}', 'overrides');
  }
  const policy = await loadPolicy(join(ctx.layout.policyDir(version.dir), 'policy.yaml'));
  if (!policy.tabular) throw new ApiError(400, 'POLICY_SECTION_MISSING', 'the policy has no "tabular" section', 'policy');
  const result = tightenPrivacy(policy.tabular, overrides);
  if (!result.success) {
    const first = result.issues[0];
    throw new ApiError(400, 'OVERRIDE_REFUSED', `${first.message}; an override may only tighten the approved policy`, first.field);
  }
  return result.privacy;
}

function newJobId(): string {
  return randomBytes(16).toString('hex');
}

/** Moves the uploads of a DICOM or image job into its input directory under numbered names. */
async function placeFileInputs(ctx: ApiContext, kind: JobKind, files: Express.Multer.File[], inputDir: string): Promise<number> {
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (total > ctx.limits.maxUploadBytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the upload exceeds the limit of ${ctx.limits.maxUploadBytes} bytes`, 'files');
  await mkdir(inputDir, { recursive: true });
  const suffix = kind === 'dicom' ? '.dcm' : '';
  let paths: string[];
  if (files.length === 1 && isZip(readHead(files[0].path, 4))) {
    paths = await extractZipSafely(files[0].path, inputDir, { maxEntries: ctx.limits.maxFiles, maxTotalBytes: ctx.limits.maxExpandedBytes, maxRatio: 1100 }, suffix);
  } else {
    if (files.length > 1 && files.some((file) => isZip(readHead(file.path, 4)))) {
      throw new ApiError(400, 'BAD_UPLOAD', 'send either one zip or several files, not a zip among other files', 'files');
    }
    paths = [];
    for (const [index, file] of files.entries()) {
      const target = join(inputDir, `${String(index + 1).padStart(6, '0')}${suffix}`);
      await rename(file.path, target);
      paths.push(target);
    }
  }
  if (kind === 'image') {
    for (const [index, path] of paths.entries()) {
      const extension = imageExtension(readHead(path, 8));
      if (!extension) throw new ApiError(400, 'IMAGE_INVALID', `file ${index + 1} of the upload is not a PNG, JPEG or TIFF image`, 'files');
      await rename(path, `${path}${extension}`);
    }
  }
  return paths.length;
}

/** Who submitted a job: the key's name and id (names of keys, never data). */
function submitter(ctx: ApiContext, keyId: string): { name: string; keyId: string } {
  const row = statement(ctx.db, 'SELECT name FROM api_keys WHERE id = ?').get(keyId) as { name: string } | undefined;
  return { name: row?.name ?? '(deleted key)', keyId };
}

function jobView(ctx: ApiContext, job: JobRecord) {
  const version = getPolicyVersionById(ctx.db, job.policyVersionId);
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    submittedBy: submitter(ctx, job.ownerKeyId),
    progress: job.status === 'done' ? 1 : job.progress,
    ...(job.error ? { error: job.error } : {}),
    policy: version ? policyRef(version) : null,
    overrides: job.overrides ?? undefined,
    inputFiles: job.inputCount,
    ...(job.source ? { source: job.source } : {}),
    attempts: job.attempts,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}

/** A job the caller may see: researchers see their own, committees and auditors all. 404 otherwise. */
function visibleJob(ctx: ApiContext, req: Request): JobRecord {
  const id = req.params.id;
  const caller = callerOf(req);
  const job = typeof id === 'string' && /^[a-f0-9]{32}$/.test(id) ? getJob(ctx.db, id) : undefined;
  if (!job || (caller.role === 'researcher' && job.ownerKeyId !== caller.id)) throw new ApiError(404, 'NOT_FOUND', 'no such job');
  return job;
}

/** 409 while a job runs or once it was cancelled; a failed job answers with its own error (422 when the data cannot satisfy the policy). */
function requireDone(job: JobRecord): void {
  if (job.status === 'queued' || job.status === 'running') throw new ApiError(409, 'JOB_NOT_FINISHED', `the job is ${job.status}; poll GET /v1/jobs/${job.id}`);
  if (job.status === 'cancelled') throw new ApiError(409, 'JOB_CANCELLED', 'the job was cancelled: it has no result and no report');
  if (job.status === 'failed') {
    const error = job.error ?? { code: 'INTERNAL', message: 'the job failed' };
    throw new ApiError(statusForCode(error.code), error.code, error.message, error.field);
  }
}

export function jobSubmitRoutes(ctx: ApiContext): Router {
  const router = Router();

  const submit = (kind: JobKind) => async (req: Request, res: Response) => {
    const caller = callerOf(req);
    const jobId = newJobId();
    const inputDir = ctx.layout.jobInput(jobId);
    try {
      const version = approvedPolicyFor(ctx, req, kind, caller);
      let overrides: PrivacySpec | null = null;
      let inputCount: number;
      let source: JobSource | null = null;
      if (kind === 'tabular') {
        overrides = await tightenedPrivacy(ctx, req, version);
        const file = uploadedFiles(req).find((f) => f.fieldname === 'file');
        if (!file) throw new ApiError(400, 'FILE_MISSING', 'attach the CSV as the "file" part', 'file');
        if (file.size === 0) throw new ApiError(400, 'CSV_INVALID', 'the uploaded CSV is empty', 'file');
        await mkdir(inputDir, { recursive: true });
        await rename(file.path, join(inputDir, 'input.csv'));
        inputCount = 1;
      } else if (kind === 'dicom' && isSourceRequest(req)) {
        // pulled from a configured DICOMweb source by the job process (src/api/dicomSource.ts)
        source = await placeSourceInput(ctx, req, inputDir);
        inputCount = 0;
      } else {
        if (formField(req, 'overrides')) throw new ApiError(400, 'OVERRIDE_REFUSED', 'overrides apply to tabular jobs only', 'overrides');
        const files = uploadedFiles(req);
        if (files.length === 0) throw new ApiError(400, 'FILE_MISSING', 'attach one or more "files" parts, or one zip', 'files');
        inputCount = await placeFileInputs(ctx, kind, files, inputDir);
      }
      // the job and its audit entry exist together or not at all
      const job = ctx.db.transaction(() => {
        const inserted = insertJob(ctx.db, { id: jobId, kind, ownerKeyId: caller.id, policyVersionId: version.id, overrides, inputCount, source });
        appendAudit(ctx.db, { ...actorOf(caller), action: 'job.submit', target: `job:${jobId}`, policy: policyRef(version) });
        if (source) auditSource(ctx.db, actorOf(caller), jobId, source, policyRef(version));
        return inserted;
      }).immediate();
      ctx.logger.info({ jobId, kind, inputFiles: inputCount, keyId: caller.id }, 'job queued');
      ctx.runner.kick();
      res.status(202).location(`/v1/jobs/${jobId}`).json({ id: job.id, kind, status: job.status });
    } catch (error) {
      await rm(ctx.layout.jobDir(jobId), { recursive: true, force: true });
      throw error;
    } finally {
      await removeUploads(req);
    }
  };

  router.post('/tabular/jobs', requireRole(ctx.db, 'researcher'), jobUpload(ctx, [{ name: 'file', maxCount: 1 }]), submit('tabular'));
  for (const kind of ['dicom', 'image'] as const) {
    router.post(
      `/${kind}/jobs`,
      requireRole(ctx.db, 'researcher'),
      // a JSON body names a DICOMweb source instead of uploading (dicom jobs only)
      ...(kind === 'dicom' ? [sourceJobBody(submit('dicom'))] : []),
      jobUpload(ctx, [
        { name: 'files', maxCount: ctx.limits.maxFiles },
        { name: 'file', maxCount: 1 },
      ]),
      submit(kind),
    );
  }
  return router;
}

export function jobReadRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** GET /v1/jobs[?kind=&status=&policy=][&format=csv]: newest first; researchers see their own. */
  router.get('/', (req, res) => {
    const caller = callerOf(req);
    const format = req.query.format ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new ApiError(400, 'BAD_FORMAT', 'format is json or csv', 'format');
    if (format === 'csv' && caller.role === 'researcher') throw denied(ctx.db, req, caller, 'the jobs export is for auditors and the committee');
    const filter = {
      kind: oneOf(req.query.kind, 'kind', ['tabular', 'dicom', 'image'] as const),
      status: oneOf(req.query.status, 'status', ['queued', 'running', 'done', 'failed', 'cancelled'] as const),
      policyName: policyFilter(req.query.policy),
    };
    const ownerKeyId = caller.role === 'researcher' ? caller.id : undefined;
    if (format === 'json') {
      res.json({ jobs: searchJobs(ctx.db, { ...filter, ownerKeyId, limit: 500 }).map((job) => jobView(ctx, job)) });
      return;
    }
    appendAudit(ctx.db, { ...actorOf(caller), action: 'jobs.exported', target: 'jobs:csv' });
    res.type('text/csv; charset=utf-8').attachment('veil-jobs.csv');
    const lines = [csvLine(['id', 'kind', 'status', 'progress', 'policy', 'policyVersion', 'policySha256', 'submittedBy', 'submittedByKeyId', 'inputFiles', 'attempts', 'errorCode', 'createdAt', 'startedAt', 'finishedAt'])];
    for (const job of searchJobs(ctx.db, { ...filter, ownerKeyId, limit: 100_000 })) {
      const view = jobView(ctx, job);
      lines.push(
        csvLine([view.id, view.kind, view.status, view.progress, view.policy?.name, view.policy?.version, view.policy?.sha256, view.submittedBy.name, view.submittedBy.keyId, view.inputFiles, view.attempts, job.error?.code, view.createdAt, view.startedAt, view.finishedAt]),
      );
    }
    res.send(lines.join(''));
  });

  router.get('/:id', (req, res) => {
    res.json(jobView(ctx, visibleJob(ctx, req)));
  });

  /**
   * GET /v1/jobs/:id/events: server-sent events for a progress bar. An `event: job` with the
   * job (as GET /v1/jobs/:id) each time it changes, read from the database every 500 ms; the
   * stream ends once the job is done, failed or cancelled (at the latest after 10 min: EventSource
   * reconnects by itself). Polling GET /v1/jobs/:id works as well.
   */
  router.get('/:id/events', (req, res) => {
    const { id } = visibleJob(ctx, req);
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    let last = '';
    let ticks = 0;
    const finished = (): boolean => {
      const job = getJob(ctx.db, id);
      if (!job) return true;
      const data = JSON.stringify(jobView(ctx, job));
      if (data !== last) res.write(`event: job\ndata: ${data}\n\n`);
      else if (++ticks % 30 === 0) res.write(': still running\n\n'); // keeps proxies from closing an idle stream
      last = data;
      return isFinished(job.status);
    };
    if (finished()) {
      res.end();
      return;
    }
    let polls = 0;
    const timer = setInterval(() => {
      if (finished() || ++polls >= 1200) stop();
    }, 500);
    const stop = (): void => {
      clearInterval(timer);
      res.end();
    };
    req.on('close', () => clearInterval(timer));
  });

  /**
   * POST /v1/jobs/:id/cancel: the researcher who submitted the job, or the committee, stops it.
   * A queued job never starts; a running one is stopped (its process killed, on the queue its
   * waiting steps removed) and its partial outputs removed. One `job.cancelled` entry; a
   * second cancel answers the same without a new entry; a finished job answers 409.
   */
  router.post('/:id/cancel', requireRole(ctx.db, 'researcher', 'committee'), async (req, res) => {
    const job = visibleJob(ctx, req);
    const caller = callerOf(req);
    if (job.status !== 'cancelled') {
      const version = getPolicyVersionById(ctx.db, job.policyVersionId);
      // the status and its audit entry together, and only if the job had not ended meanwhile
      const cancelled = ctx.db.transaction(() => {
        if (!markCancelled(ctx.db, job.id)) return false;
        appendAudit(ctx.db, { ...actorOf(caller), action: 'job.cancelled', target: `job:${job.id}`, policy: version ? policyRef(version) : null });
        return true;
      }).immediate();
      if (!cancelled) {
        const now = getJob(ctx.db, job.id) ?? job;
        if (now.status !== 'cancelled') throw new ApiError(409, 'JOB_FINISHED', `the job is already ${now.status}; only a queued or running job can be cancelled`);
      } else {
        ctx.logger.info({ jobId: job.id, keyId: caller.id }, 'job cancel requested');
        await ctx.runner.cancel(job.id);
      }
    }
    res.json(jobView(ctx, getJob(ctx.db, job.id) ?? job));
  });

  router.get('/:id/result', (req, res) => {
    const job = visibleJob(ctx, req);
    const caller = callerOf(req);
    if (caller.role !== 'researcher') throw denied(ctx.db, req, caller, 'only the researcher who submitted a job downloads its result; reports are open to every role');
    requireDone(job);
    const version = getPolicyVersionById(ctx.db, job.policyVersionId);
    appendAudit(ctx.db, { ...actorOf(caller), action: 'result.download', target: `job:${job.id}`, policy: version ? policyRef(version) : null });
    const outDir = ctx.layout.jobOut(job.id);
    if (job.kind === 'tabular') {
      res.type('text/csv; charset=utf-8').attachment(`veil-${job.id}.csv`);
      res.sendFile(join(outDir, OUTPUT_FILES.tabularResult));
    } else {
      res.type('application/zip').attachment(`veil-${job.id}.zip`);
      res.sendFile(join(outDir, OUTPUT_FILES.archiveResult));
    }
  });

  router.get('/:id/report', (req, res) => {
    const job = visibleJob(ctx, req);
    const format = req.query.format ?? 'json';
    if (format !== 'json' && format !== 'html') throw new ApiError(400, 'BAD_FORMAT', 'format is json or html', 'format');
    requireDone(job);
    const report = getReport(ctx.db, job.id);
    if (!report) throw new ApiError(404, 'NOT_FOUND', 'this job has no report');
    const caller = callerOf(req);
    const version = getPolicyVersionById(ctx.db, job.policyVersionId);
    appendAudit(ctx.db, { ...actorOf(caller), action: 'report.read', target: `job:${job.id}`, policy: version ? policyRef(version) : null });
    if (format === 'json') {
      res.type('application/json').send(report.json);
      return;
    }
    if (!report.hasHtml) throw new ApiError(404, 'NOT_FOUND', 'this job has no HTML report (image jobs run before reports had a page have none)');
    // the report is self-contained (inline SVG and styles): no scripts, no outside resources
    // framed by the console (same origin, <iframe sandbox>), never by another site
    res.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'");
    res.set('X-Frame-Options', 'SAMEORIGIN');
    res.type('text/html; charset=utf-8');
    res.sendFile(join(ctx.layout.jobOut(job.id), OUTPUT_FILES.reportHtml));
  });

  return router;
}


/** A query filter that must be one of `values` (undefined when absent). */
function oneOf<T extends string>(value: unknown, field: string, values: readonly T[]): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) throw new ApiError(400, 'BAD_QUERY', `${field} is one of ${values.join(', ')}`, field);
  return value as T;
}

function policyFilter(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !NAME.test(value)) throw new ApiError(400, 'BAD_QUERY', 'policy is a policy name (1–100 letters, digits, ".", "_" or "-")', 'policy');
  return value;
}
