import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import multer from 'multer';
import { isVeilError } from '../../errors.js';
import { parsePolicyOffThread } from '../../policy/offThread.js';
import { appendAudit } from '../audit.js';
import { actorOf, callerOf, requireRole } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { asMultipartError } from '../uploads.js';
import { POLICY_STORAGE } from '../layout.js';
import { hierarchyFileRefs, matchHierarchyUploads, type HierarchyRef } from '../policyBundle.js';
import {
  approvePolicyVersion,
  getPolicyVersion,
  insertPolicyVersion,
  listPolicies,
  listPolicyVersions,
  policyRef,
  type PolicyVersion,
} from '../policyStore.js';

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

  router.get('/:name', (req, res) => {
    const name = policyName(req);
    const wanted = parseVersion(req.query.version, 'version');
    const selected = getPolicyVersion(ctx.db, name, wanted);
    if (!selected) throw new ApiError(404, 'NOT_FOUND', wanted ? 'no such policy version' : 'no policy with this name');
    const versions = listPolicyVersions(ctx.db, name).map((v) => ({ version: v.version, sha256: v.sha256, approved: v.approved, createdAt: v.createdAt, approvedAt: v.approvedAt }));
    res.json({ ...versionView(selected), yaml: readYamlSync(ctx, selected), versions });
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
    const name = policyName(req);
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const wanted = parseVersion(body.version, 'version') ?? parseVersion(req.query.version, 'version');
    const target = getPolicyVersion(ctx.db, name, wanted);
    if (!target) throw new ApiError(404, 'NOT_FOUND', wanted ? 'no such policy version' : 'no policy with this name');
    const caller = callerOf(req);
    const approved = ctx.db.transaction(() => {
      const updated = approvePolicyVersion(ctx.db, target.id, actorOf(caller).actor);
      appendAudit(ctx.db, { ...actorOf(caller), action: 'policy.approve', target: `policy:${name}`, policy: policyRef(updated) });
      return updated;
    }).immediate();
    res.json({ name, version: approved.version, sha256: approved.sha256, approved: true, approvedBy: approved.approvedBy, approvedAt: approved.approvedAt });
  });

  return router;
}

function readYamlSync(ctx: ApiContext, version: PolicyVersion): string {
  return readFileSync(ctx.layout.policyText(version.dir), 'utf8');
}
