import { randomBytes } from 'node:crypto';
import { access, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import { appendAudit } from '../audit.js';
import { actorOf, callerOf } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError, statusForCode } from '../errors.js';
import { getJob } from '../jobStore.js';
import { runPreview, type PreviewOutcome } from '../preview.js';
import { getPolicyVersion, policyRef } from '../policyStore.js';
import { jobUpload, removeUploads, uploadedFiles } from '../uploads.js';
import { parseVersion, policyName } from './policies.js';

/**
 * POST /v1/policies/:name/preview[?version=N] (committee): what a version (approved or not)
 * would publish from a sample — the `file` part, or the input of a past tabular job that is
 * still present (`jobId`). The engine runs in a worker thread and reads the sample where it
 * is (the upload, or the job's own input, which is neither copied nor changed); the upload and
 * everything written from the sample are deleted before the answer is sent. Nothing is
 * stored; the preview is audited without data values (a job's preview names the job).
 */
export function previewRoute(ctx: ApiContext): RequestHandler[] {
  const handler = async (req: Request, res: Response) => {
    const answer = await previewAnswer(ctx, req);
    res.set('Cache-Control', 'no-store');
    res.json(answer);
  };
  return [jobUpload(ctx, [{ name: 'file', maxCount: 1 }]), handler];
}

/** Runs the preview and deletes the sample and all it produced before returning (so before the answer is sent). */
async function previewAnswer(ctx: ApiContext, req: Request) {
  const workDir = join(ctx.layout.uploads, `preview-${randomBytes(16).toString('hex')}`);
  try {
    const name = policyName(req);
    const wanted = parseVersion(req.query.version, 'version');
    const version = getPolicyVersion(ctx.db, name, wanted);
    if (!version) throw new ApiError(404, 'NOT_FOUND', wanted ? 'no such policy version' : 'no policy with this name');
    if (!version.sections.includes('tabular')) throw new ApiError(400, 'POLICY_SECTION_MISSING', 'a preview runs the tabular section, and this policy has none', 'policy');
    await mkdir(workDir, { recursive: true });
    const { input, source, jobId } = await findSample(ctx, req);
    let outcome: PreviewOutcome = await runPreview({
      policyFile: ctx.layout.policyText(version.dir),
      policyDir: ctx.layout.policyHierarchies(version.dir, version.storage),
      policySha256: version.sha256,
      policyVersion: version.version,
      hierarchies: version.hierarchies,
      input,
      workDir,
      maxCellBytes: ctx.maxCellBytes,
    });
    // the job ended (and its input went) while the preview read it
    const gone = !outcome.ok && jobId !== undefined && !(await exists(input)) ? inputGone(jobId) : undefined;
    if (gone) outcome = { ok: false, error: { code: gone.code, message: gone.message, field: gone.field } };
    appendAudit(ctx.db, {
      ...actorOf(callerOf(req)),
      action: 'policy.previewed',
      target: `policy:${name}`,
      policy: policyRef(version),
      detail: { sample: source, outcome: outcome.ok ? 'ok' : outcome.error.code },
    });
    if (gone) throw gone;
    if (!outcome.ok) throw new ApiError(statusForCode(outcome.error.code), outcome.error.code, outcome.error.message, outcome.error.field);
    return { policy: policyRef(version), rows: outcome.report.input.rows, report: outcome.report, html: outcome.html };
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await removeUploads(req);
  }
}

/**
 * Where the sample is, and where it came from for the audit entry ("upload" or "job:<id>"):
 * the uploaded part, or the input of a tabular job that is still queued or running (inputs
 * are deleted when a job ends). Either is read in place.
 */
async function findSample(ctx: ApiContext, req: Request): Promise<{ input: string; source: string; jobId?: string }> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const file = uploadedFiles(req).find((f) => f.fieldname === 'file');
  const jobId = body.jobId;
  if (file && jobId !== undefined) throw new ApiError(400, 'BAD_FIELD', 'send either a sample "file" or a "jobId", not both', 'jobId');
  if (file) {
    if (file.size === 0) throw new ApiError(400, 'CSV_INVALID', 'the uploaded CSV is empty', 'file');
    return { input: file.path, source: 'upload' };
  }
  if (jobId === undefined) throw new ApiError(400, 'FILE_MISSING', 'attach a sample CSV as the "file" part, or name a past tabular job in "jobId"', 'file');
  const job = typeof jobId === 'string' && /^[a-f0-9]{32}$/.test(jobId) ? getJob(ctx.db, jobId) : undefined;
  if (!job) throw new ApiError(404, 'NOT_FOUND', 'no such job', 'jobId');
  if (job.kind !== 'tabular') throw new ApiError(400, 'BAD_FIELD', 'a preview needs a tabular job', 'jobId');
  const input = join(ctx.layout.jobInput(job.id), 'input.csv');
  if (!(await exists(input))) throw inputGone(job.id);
  return { input, source: `job:${job.id}`, jobId: job.id };
}

function inputGone(jobId: string): ApiError {
  return new ApiError(
    409,
    'PREVIEW_INPUT_GONE',
    `the input of job ${jobId} is no longer kept: a job's input is deleted when the job ends (done or failed), so only a queued or running job can be previewed; upload a sample instead`,
    'jobId',
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
