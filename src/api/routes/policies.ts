import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import multer from 'multer';
import { LineCounter, parseDocument } from 'yaml';
import { isVeilError } from '../../errors.js';
import { issueLine, policyJsonSchema, type PolicyDocument, type PolicyIssue } from '../../policy/index.js';
import { lineOf } from '../../policy/load.js';
import { parsePolicyOffThread } from '../../policy/offThread.js';
import { appendAudit } from '../audit.js';
import { actorOf, callerOf, requireRole } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { asMultipartError } from '../uploads.js';
import { POLICY_STORAGE } from '../layout.js';
import { hierarchyFileRefs, isPlainRelativePath, matchHierarchyUploads, type HierarchyRef } from '../policyBundle.js';
import {
  approvePolicyVersion,
  decisionsOf,
  getPolicyVersion,
  insertPolicyVersion,
  listPolicies,
  listPolicyVersions,
  policyRef,
  recordDecision,
  type PolicyVersion,
} from '../policyStore.js';
import { previewRoute } from './preview.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];
const NAME = /^(?!\.+$)[A-Za-z0-9._-]{1,100}$/;

export function policyName(req: Request): string {
  const name = req.params.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ApiError(400, 'BAD_NAME', 'a policy name is 1–100 letters, digits, ".", "_" or "-"', 'name');
  }
  return name;
}

export function parseVersion(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < 1) throw new ApiError(400, 'BAD_VERSION', 'a policy version is a positive integer', field);
  return number;
}

function versionView(v: PolicyVersion) {
  return {
    name: v.name,
    version: v.version,
    sha256: v.sha256,
    approved: v.approved,
    declaredVersion: v.declaredVersion,
    sections: v.sections,
    hierarchies: v.hierarchies,
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    approvedAt: v.approvedAt,
    approvedBy: v.approvedBy,
  };
}

/** Reads the policy text and hierarchy files of a PUT (YAML body, or multipart with files). */
async function readPolicyUpload(req: Request, res: Response, ctx: ApiContext): Promise<{ text: string; hierarchies: { originalName: string; bytes: Buffer }[] }> {
  if (req.is('multipart/form-data')) {
    const upload = multer({
      storage: multer.memoryStorage(),
      limits: { fileSize: ctx.limits.maxPolicyBytes, files: 101, fields: 5, fieldSize: ctx.limits.maxPolicyBytes },
    }).fields([
      { name: 'policy', maxCount: 1 },
      { name: 'hierarchies', maxCount: 100 },
    ]);
    await new Promise<void>((resolve, reject) => upload(req, res, (error: unknown) => (error ? reject(asMultipartError(error)) : resolve())));
    const files = (req.files ?? {}) as Record<string, Express.Multer.File[] | undefined>;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const policyFile = files.policy?.[0];
    const text = policyFile ? policyFile.buffer.toString('utf8') : typeof body.policy === 'string' ? body.policy : undefined;
    if (text === undefined) throw new ApiError(400, 'POLICY_MISSING', 'send the policy YAML as the "policy" part', 'policy');
    return { text, hierarchies: (files.hierarchies ?? []).map((file) => ({ originalName: file.originalname, bytes: file.buffer })) };
  }
  if (req.is(YAML_TYPES)) {
    await new Promise<void>((resolve, reject) =>
      express.text({ type: YAML_TYPES, limit: ctx.limits.maxPolicyBytes })(req, res, (error: unknown) => (error ? reject(error) : resolve())),
    );
    if (typeof req.body !== 'string') throw new ApiError(400, 'POLICY_MISSING', 'the request body is empty', 'policy');
    return { text: req.body, hierarchies: [] };
  }
  throw new ApiError(400, 'UNSUPPORTED_MEDIA_TYPE', 'send the policy as application/yaml, or as multipart/form-data with "policy" and "hierarchies" parts');
}

/** Each hierarchy file must read as an ARX hierarchy; refused with the policy field that names it. */
async function checkHierarchies(dir: string, refs: HierarchyRef[]): Promise<void> {
  if (refs.length === 0) return;
  // loaded on first use: the tabular engine is not needed to serve anything else
  const { readArxHierarchy } = await import('../../tabular/index.js');
  for (const ref of refs) {
    if (ref.kind !== 'hierarchy') continue; // data tables are read by the job, with its own errors
    try {
      readArxHierarchy(join(dir, ...ref.path.split('/')));
    } catch (error) {
      if (!isVeilError(error)) throw error;
      const where = error.location.line ? `${ref.path}:${error.location.line}` : ref.path;
      throw new ApiError(400, 'HIERARCHY_INVALID', `${where}: ${error.message}`, ref.field);
    }
  }
}

/**
 * Writes a version's files: the policy text at <token>/policy.yaml, the hierarchy files under
 * <token>/hierarchies/ (POLICY_STORAGE 2). The two never share a name space, so no upload can
 * replace the approved text, whatever it is called.
 */
async function storePolicyFiles(ctx: ApiContext, text: string, files: Map<string, Buffer>, refs: HierarchyRef[]): Promise<string> {
  const token = randomBytes(16).toString('hex');
  const finalDir = ctx.layout.policyDir(token);
  const tempDir = join(dirname(finalDir), `.tmp-${token}`);
  const hierarchyDir = join(tempDir, relative(finalDir, ctx.layout.policyHierarchies(token, POLICY_STORAGE)));
  try {
    await mkdir(hierarchyDir, { recursive: true });
    await writeFile(join(tempDir, relative(finalDir, ctx.layout.policyText(token))), text, 'utf8');
    for (const [path, bytes] of files) {
      const target = join(hierarchyDir, ...path.split('/'));
      try {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, bytes, { flag: 'wx' });
      } catch (error) {
        // "a.csv" and "a.csv/b.csv", or two names equal on a case-blind disk: never overwrite one with the other
        const code = error instanceof Error && 'code' in error ? error.code : undefined;
        if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
          throw new ApiError(400, 'HIERARCHY_AMBIGUOUS', 'two hierarchy paths of the policy would be stored at the same place', 'hierarchies');
        }
        throw error;
      }
    }
    await checkHierarchies(hierarchyDir, refs);
    // the version directory appears whole or not at all
    await rename(tempDir, finalDir);
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
  return token;
}

/** A file of the operator's hierarchy library; `path` is already checked to be plain and relative. */
function fromLibrary(ctx: ApiContext, path: string): Buffer | undefined {
  if (!ctx.hierarchyDir) return undefined;
  try {
    return readFileSync(join(ctx.hierarchyDir, ...path.split('/')));
  } catch {
    return undefined;
  }
}

export function policyRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/', (_req, res) => {
    res.json({ policies: listPolicies(ctx.db) });
  });

  // before /:name, which would otherwise take "schema" for a policy name
  router.get('/schema', (_req, res) => {
    schema ??= policyJsonSchema();
    res.json(schema);
  });

  router.post('/validate', requireRole(ctx.db, 'committee'), async (req, res) => {
    const text = await readYamlBody(req, res, ctx);
    res.json(await validatePolicyText(ctx, text));
  });

  router.get('/:name', (req, res) => {
    res.json(policyAnswer(ctx, policyName(req), parseVersion(req.query.version, 'version')));
  });

  router.get('/:name/versions/:version', (req, res) => {
    res.json(policyAnswer(ctx, policyName(req), parseVersion(req.params.version, 'version')));
  });

  router.put('/:name', requireRole(ctx.db, 'committee'), async (req, res) => {
    const name = policyName(req);
    const { text, hierarchies } = await readPolicyUpload(req, res, ctx);
    // parsed in a worker thread: a hostile text must not stall the other requests
    const parsed = await parsePolicyOffThread(text, { file: 'policy.yaml', baseDir: ctx.layout.root });
    if (!parsed.success) {
      const first = parsed.issues[0];
      const more = parsed.issues.length > 1 ? ` (and ${parsed.issues.length - 1} more: see error.issues)` : '';
      const issues = parsed.issues.map((issue) => ({ line: issue.line, field: issue.field || undefined, message: issue.message }));
      throw new ApiError(400, 'POLICY_INVALID', `${first.line ? `line ${first.line}: ` : ''}${first.message}${more}`, first.field || undefined, issues);
    }
    const policy = parsed.policy;
    if (policy.name !== name) throw new ApiError(400, 'POLICY_INVALID', 'the "name" field of the policy must equal the name in the URL', 'name');
    const refs = hierarchyFileRefs(policy);
    const { files, ignoredUploads } = matchHierarchyUploads(refs, hierarchies, (path) => fromLibrary(ctx, path));
    const token = await storePolicyFiles(ctx, text, files, refs);
    const caller = callerOf(req);
    const stored = ctx.db.transaction(() => {
      const inserted = insertPolicyVersion(ctx.db, {
      name,
      sha256: policy.source.sha256,
      declaredVersion: String(policy.version),
      dir: token,
      storage: POLICY_STORAGE,
      hierarchies: [...files].map(([path, bytes]) => ({ path, sha256: createHash('sha256').update(bytes).digest('hex') })),
      sections: (['tabular', 'dicom', 'pixels'] as const).filter((s) => policy[s] !== undefined),
        createdBy: actorOf(caller).actor,
      });
      appendAudit(ctx.db, { ...actorOf(caller), action: 'policy.put', target: `policy:${name}`, policy: policyRef(inserted) });
      return inserted;
    }).immediate();
    res.status(201).location(`/v1/policies/${name}?version=${stored.version}`);
    res.json({
      name,
      version: stored.version,
      sha256: stored.sha256,
      approved: false,
      hierarchies: stored.hierarchies.map((h) => h.path),
      ignoredUploads,
    });
  });

  router.post('/:name/approve', requireRole(ctx.db, 'committee'), express.json({ limit: '16kb' }), (req, res) => {
    const { name, target, body } = decisionTarget(ctx, req);
    const comment = decisionComment(body.comment, false);
    const caller = callerOf(req);
    const approved = ctx.db.transaction(() => {
      const updated = approvePolicyVersion(ctx.db, target.id, actorOf(caller).actor);
      recordDecision(ctx.db, updated.id, 'approved', actorOf(caller).actor, comment);
      appendAudit(ctx.db, { ...actorOf(caller), action: 'policy.approve', target: `policy:${name}`, policy: policyRef(updated), ...(comment !== null ? { detail: { comment } } : {}) });
      return updated;
    }).immediate();
    res.json({ name, version: approved.version, sha256: approved.sha256, approved: true, approvedBy: approved.approvedBy, approvedAt: approved.approvedAt, comment });
  });

  /** A rejection records the committee's reason; it withdraws an approval the version had. */
  router.post('/:name/reject', requireRole(ctx.db, 'committee'), express.json({ limit: '16kb' }), (req, res) => {
    const { name, target, body } = decisionTarget(ctx, req);
    const comment = decisionComment(body.comment, true) as string;
    const caller = callerOf(req);
    const decision = ctx.db.transaction(() => {
      const recorded = recordDecision(ctx.db, target.id, 'rejected', actorOf(caller).actor, comment);
      appendAudit(ctx.db, { ...actorOf(caller), action: 'policy.reject', target: `policy:${name}`, policy: policyRef(target), detail: { comment } });
      return recorded;
    }).immediate();
    res.json({ name, version: target.version, sha256: target.sha256, rejected: true, rejectedBy: decision.by, rejectedAt: decision.at, comment });
  });

  router.post('/:name/preview', requireRole(ctx.db, 'committee'), ...previewRoute(ctx));

  return router;
}

function readYamlSync(ctx: ApiContext, version: PolicyVersion): string {
  return readFileSync(ctx.layout.policyText(version.dir), 'utf8');
}

let schema: Record<string, unknown> | undefined;

/** GET /v1/policies/:name[?version=N] and /v1/policies/:name/versions/:version: one version, its YAML and every version's decision. */
function policyAnswer(ctx: ApiContext, name: string, wanted: number | undefined) {
  const selected = getPolicyVersion(ctx.db, name, wanted);
  if (!selected) throw new ApiError(404, 'NOT_FOUND', wanted ? 'no such policy version' : 'no policy with this name');
  const all = listPolicyVersions(ctx.db, name);
  const decisions = decisionsOf(ctx.db, all);
  const versions = all.map((v) => ({ version: v.version, sha256: v.sha256, approved: v.approved, createdAt: v.createdAt, approvedAt: v.approvedAt, decision: decisions.get(v.id) }));
  return { ...versionView(selected), decision: decisions.get(selected.id), yaml: readYamlSync(ctx, selected), versions };
}

/** The version an approve or reject names: body.version, ?version=, or the latest. */
function decisionTarget(ctx: ApiContext, req: Request): { name: string; target: PolicyVersion; body: Record<string, unknown> } {
  const name = policyName(req);
  const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
  const wanted = parseVersion(body.version, 'version') ?? parseVersion(req.query.version, 'version');
  const target = getPolicyVersion(ctx.db, name, wanted);
  if (!target) throw new ApiError(404, 'NOT_FOUND', wanted ? 'no such policy version' : 'no policy with this name');
  return { name, target, body };
}

const MAX_COMMENT = 2000;

/** A decision's comment: 1–2000 characters (required to reject, optional to approve); null when absent. */
function decisionComment(value: unknown, required: boolean): string | null {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '' && !required)) {
    if (required) throw new ApiError(400, 'COMMENT_MISSING', 'say why in "comment" (1–2000 characters): a rejection is recorded with its reason', 'comment');
    return null;
  }
  if (typeof value !== 'string') throw new ApiError(400, 'BAD_FIELD', '"comment" is text', 'comment');
  const comment = value.trim();
  if (comment.length === 0 || comment.length > MAX_COMMENT) throw new ApiError(400, 'BAD_FIELD', `"comment" is 1–${MAX_COMMENT} characters`, 'comment');
  return comment;
}

/** A YAML (or plain text) body, up to the policy size limit. */
async function readYamlBody(req: Request, res: Response, ctx: ApiContext): Promise<string> {
  if (!req.is(YAML_TYPES)) throw new ApiError(400, 'UNSUPPORTED_MEDIA_TYPE', 'send the policy as application/yaml or text/plain');
  await new Promise<void>((resolve, reject) =>
    express.text({ type: YAML_TYPES, limit: ctx.limits.maxPolicyBytes })(req, res, (error: unknown) => (error ? reject(error) : resolve())),
  );
  return typeof req.body === 'string' ? req.body : '';
}

/** One problem as the console shows it: where, and the exact line `veil policy check` prints. */
export interface ValidationIssue {
  line?: number;
  column?: number;
  path: string;
  message: string;
  text: string;
}

function validationIssue(issue: PolicyIssue): ValidationIssue {
  return { ...(issue.line !== undefined ? { line: issue.line } : {}), path: issue.field, message: issue.message, text: issueLine(issue) };
}

/**
 * What `veil policy check` would say of this text, as data. Stores nothing. Hierarchy files
 * the policy names need not be uploaded here when a stored version of the policy or the
 * operator's hierarchy folder has them (a PUT takes them from there); otherwise each is an issue.
 */
export async function validatePolicyText(ctx: ApiContext, text: string): Promise<{ ok: boolean; issues: ValidationIssue[] }> {
  const file = 'policy.yaml';
  // parsed in a worker thread, as for a PUT: a hostile text must not stall other requests
  const parsed = await parsePolicyOffThread(text, { file, baseDir: ctx.layout.root });
  if (!parsed.success) return { ok: false, issues: parsed.issues.map(validationIssue) };
  const missing = unavailableFiles(ctx, parsed.policy);
  if (missing.length === 0) return { ok: true, issues: [] };
  // lines are looked up only when something is missing (one more parse of a text already screened)
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const issues = missing.map(({ ref, message }) => validationIssue({ file, line: lineOf(doc, lineCounter, ref.field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p))), field: ref.field, message }));
  return { ok: false, issues };
}

function unavailableFiles(ctx: ApiContext, policy: PolicyDocument): { ref: HierarchyRef; message: string }[] {
  const stored = new Set(listPolicyVersions(ctx.db, policy.name).flatMap((v) => v.hierarchies.map((h) => h.path)));
  const out: { ref: HierarchyRef; message: string }[] = [];
  for (const ref of hierarchyFileRefs(policy)) {
    if (!isPlainRelativePath(ref.path)) {
      out.push({ ref, message: 'a hierarchy path must be relative and made of letters, digits, ".", "_", "-" and "/" (no "..")' });
    } else if (!stored.has(ref.path) && !(ctx.hierarchyDir && existsSync(join(ctx.hierarchyDir, ...ref.path.split('/'))))) {
      out.push({ ref, message: `the file "${ref.path}" is neither stored with a version of this policy nor in the server's hierarchy folder: upload it with the policy` });
    }
  }
  return out;
}
