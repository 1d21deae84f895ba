import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import { appendAudit } from '../audit.js';
import { actorOf, callerOf } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError, statusForCode } from '../errors.js';
import { getJob } from '../jobStore.js';
import { runPreview } from '../preview.js';
import { getPolicyVersion, policyRef } from '../policyStore.js';
import { jobUpload, removeUploads, uploadedFiles } from '../uploads.js';
import { parseVersion, policyName } from './policies.js';

/**
 * POST /v1/policies/:name/preview[?version=N] (committee): what a version (approved or not)
 * would publish from a sample — the `file` part, or the input of a past tabular job that is
 * still present (`jobId`). The engine runs in a worker thread; the sample and everything
 * written from it are deleted before the answer is sent. Nothing is stored; the preview is
 * audited without data values.
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
    const input = join(workDir, 'sample.csv');
    const source = await placeSample(ctx, req, input);
    const outcome = await runPreview({
      policyFile: ctx.layout.policyText(version.dir),
      policyDir: ctx.layout.policyHierarchies(version.dir, version.storage),
      policySha256: version.sha256,
      policyVersion: version.version,
      hierarchies: version.hierarchies,
      input,
      workDir,
      maxCellBytes: ctx.maxCellBytes,
    });
    appendAudit(ctx.db, {
      ...actorOf(callerOf(req)),
      action: 'policy.previewed',
      target: `policy:${name}`,
      policy: policyRef(version),
      detail: { sample: source, outcome: outcome.ok ? 'ok' : outcome.error.code },
    });
    if (!outcome.ok) throw new ApiError(statusForCode(outcome.error.code), outcome.error.code, outcome.error.message, outcome.error.field);
    return { policy: policyRef(version), rows: outcome.report.input.rows, report: outcome.report, html: outcome.html };
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await removeUploads(req);
  }
}

/** Puts the sample at `target`; says where it came from ("upload" or "job:<id>") for the audit entry. */
async function placeSample(ctx: ApiContext, req: Request, target: string): Promise<string> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const file = uploadedFiles(req).find((f) => f.fieldname === 'file');
  const jobId = body.jobId;
  if (file && jobId !== undefined) throw new ApiError(400, 'BAD_FIELD', 'send either a sample "file" or a "jobId", not both', 'jobId');
  if (file) {
    if (file.size === 0) throw new ApiError(400, 'CSV_INVALID', 'the uploaded CSV is empty', 'file');
    await copyFile(file.path, target);
    return 'upload';
  }
  if (jobId === undefined) throw new ApiError(400, 'FILE_MISSING', 'attach a sample CSV as the "file" part, or name a past tabular job in "jobId"', 'file');
  const job = typeof jobId === 'string' && /^[a-f0-9]{32}$/.test(jobId) ? getJob(ctx.db, jobId) : undefined;
  if (!job) throw new ApiError(404, 'NOT_FOUND', 'no such job', 'jobId');
  if (job.kind !== 'tabular') throw new ApiError(400, 'BAD_FIELD', 'a preview needs a tabular job', 'jobId');
  try {
    // a copy: the job's own input stays where its job expects it
    await copyFile(join(ctx.layout.jobInput(job.id), 'input.csv'), target);
  } catch {
    throw new ApiError(409, 'PREVIEW_INPUT_GONE', "this job's input was deleted when it finished (inputs are never kept); upload a sample instead", 'jobId');
  }
  return `job:${job.id}`;
}
