/**
 * `veil serve --dicom-port N --dicom-policy NAME`: the DICOM listener of `veil dicom listen`
 * running inside the server process, on the latest approved version of a stored policy (its
 * bytes checked against the approved sha256, as a job's are), with its spool in the data dir.
 * What it receives, releases, forwards and quarantines is counted in the audit log: one entry
 * per released study with counts, one per quarantined instance with its reason code, never a
 * UID or a data value.
 *
 * Without a forward or an out folder, each released batch is kept as a DICOM job (done at
 * once: the listener de-identified it), owned by the researcher key the operator named
 * (`--dicom-jobs-for`), its zip at GET /v1/jobs/:id/result and its report at /report.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VeilError } from '../errors.js';
import type { Destination } from '../dicom/net/dimse.js';
import type { KeptBatch, Listener, ListenEvent } from '../dicom/net/listen.js';
import { statement } from './db.js';
import { getJob, insertJob, markDone } from './jobStore.js';
import { OUTPUT_FILES } from './layout.js';
import { zipDirectory } from './zip.js';
import { parsePolicy, unwrap, type Policy } from '../policy/load.js';
import { appendAudit } from './audit.js';
import type { ApiContext } from './context.js';
import { listPolicyVersions, policyRef, type PolicyVersion } from './policyStore.js';
import { approvedPolicyText } from './worker.js';

export interface DicomListenerOptions {
  /** Name of a stored policy with a dicom section; its latest approved version runs. */
  policyName: string;
  port: number;
  host: string;
  aeTitle: string;
  /** C-STORE the de-identified instances here, or write them under `out` (or both). */
  forward?: Destination;
  out?: string;
  /**
   * Neither forward nor out: keep each released batch as a DICOM job owned by this researcher
   * key (by name), who downloads it like an uploaded job's result.
   */
  jobsFor?: string;
  allowAe?: readonly string[];
  studyIdleSeconds: number;
  jobs?: number;
  /** The pseudonym key, read at the server's edge. */
  secret: Buffer;
}

export interface RunningDicomListener {
  listener: Listener;
  /** The policy version it runs. */
  policy: PolicyVersion;
  close(): Promise<void>;
}

const SYSTEM = { actor: 'veil', role: 'system' };

function latestApproved(ctx: ApiContext, name: string): PolicyVersion {
  const versions = listPolicyVersions(ctx.db, name);
  if (versions.length === 0) throw new VeilError('USAGE', 'no stored policy of this name', { field: '--dicom-policy' });
  const approved = versions.filter((v) => v.approved).pop();
  if (!approved) throw new VeilError('USAGE', 'no version of this policy is approved by the committee', { field: '--dicom-policy' });
  if (!approved.sections.includes('dicom')) throw new VeilError('USAGE', `version ${approved.version} of this policy has no dicom section`, { field: '--dicom-policy' });
  return approved;
}

/** The approved bytes, checked against the recorded sha256, parsed as the job process does. */
async function approvedPolicy(ctx: ApiContext, version: PolicyVersion): Promise<Policy> {
  const policyFile = ctx.layout.policyText(version.dir);
  const policyDir = ctx.layout.policyHierarchies(version.dir, version.storage);
  let text: string;
  try {
    text = await approvedPolicyText({ policyFile, policyDir, policySha256: version.sha256, hierarchies: version.hierarchies });
  } catch (error) {
    throw new VeilError('USAGE', error instanceof Error ? error.message : 'the stored policy is not the approved one', { field: '--dicom-policy' });
  }
  return { ...unwrap(parsePolicy(text, { file: policyFile, baseDir: policyDir })), version: version.version };
}

/** The audit entry of a listener event: counts and codes only. */
function auditEvent(ctx: ApiContext, listener: string, event: ListenEvent, policy: ReturnType<typeof policyRef>): void {
  if (event.kind === 'quarantined') {
    appendAudit(ctx.db, { ...SYSTEM, action: 'dicom.quarantined', target: `${listener} instance: ${event.code}`, policy });
    return;
  }
  const kept = event.kept ? `, ${event.kept.instances} kept as job:${event.kept.label}` : '';
  const counts = `${event.received} received, ${event.forwarded} forwarded, ${event.written} written, ${event.quarantined} quarantined${kept}`;
  appendAudit(ctx.db, { ...SYSTEM, action: 'dicom.study.released', target: `${listener} study: ${counts}`, policy });
}

/** The researcher key that owns kept jobs, by its name: exactly one researcher key of that name. */
function jobOwner(ctx: ApiContext, keyName: string): string {
  const rows = statement(ctx.db, "SELECT id FROM api_keys WHERE name = ? AND role = 'researcher'").all(keyName) as { id: string }[];
  if (rows.length !== 1) throw new VeilError('USAGE', rows.length === 0 ? 'no researcher key has this name' : 'several researcher keys have this name', { field: '--dicom-jobs-for' });
  return rows[0].id;
}

/**
 * Keeps a de-identified batch as a done DICOM job: result.zip and the run report in the job's
 * out/ folder, then the record (queued and done in one transaction, so the runner never takes
 * it) and its audit entries. The job id is a digest of the batch id: after a crash the same
 * batch finds its job and is not kept twice.
 */
export async function keepAsJob(ctx: ApiContext, batch: KeptBatch, owner: { keyId: string; actor: string; version: PolicyVersion }): Promise<string> {
  const jobId = createHash('sha256').update(`veil-dicom-listener-job\0${batch.id}`).digest('hex').slice(0, 32);
  if (getJob(ctx.db, jobId)) return jobId;
  // leftovers of a crash before the record was written
  await rm(ctx.layout.jobDir(jobId), { recursive: true, force: true });
  const work = ctx.layout.jobWork(jobId);
  await mkdir(batch.files, { recursive: true });
  await mkdir(work, { recursive: true });
  await zipDirectory(batch.files, join(work, OUTPUT_FILES.archiveResult));
  await copyFile(batch.reportJson, join(work, OUTPUT_FILES.reportJson));
  const hasHtml = existsSync(batch.reportHtml);
  if (hasHtml) await copyFile(batch.reportHtml, join(work, OUTPUT_FILES.reportHtml));
  const reportText = await readFile(join(work, OUTPUT_FILES.reportJson), 'utf8');
  await rename(work, ctx.layout.jobOut(jobId));
  const ref = policyRef(owner.version);
  ctx.db.transaction(() => {
    insertJob(ctx.db, { id: jobId, kind: 'dicom', ownerKeyId: owner.keyId, policyVersionId: owner.version.id, overrides: null, inputCount: batch.received });
    markDone(ctx.db, jobId, reportText, hasHtml);
    appendAudit(ctx.db, { actor: owner.actor, role: 'system', action: 'job.submit', target: `job:${jobId}`, policy: ref });
    appendAudit(ctx.db, { ...SYSTEM, action: 'job.done', target: `job:${jobId}`, policy: ref });
  }).immediate();
  return jobId;
}

export async function startDicomListener(ctx: ApiContext, options: DicomListenerOptions): Promise<RunningDicomListener> {
  const version = latestApproved(ctx, options.policyName);
  const policy = await approvedPolicy(ctx, version);
  const ref = policyRef(version);
  const name = `dicom-listener:${options.aeTitle}`;
  let keep: ((batch: KeptBatch) => Promise<string>) | undefined;
  if (!options.forward && !options.out) {
    if (!options.jobsFor) throw new VeilError('USAGE', 'give --dicom-forward AE@host:port, --dicom-out DIR or --dicom-jobs-for KEYNAME (received studies kept as jobs of that researcher)', { field: '--dicom-forward' });
    const keyId = jobOwner(ctx, options.jobsFor);
    keep = (batch) => keepAsJob(ctx, batch, { keyId, actor: name, version });
  }
  const { startListener } = await import('../dicom/net/listen.js');
  const base = join(ctx.layout.root, 'dicom-listener');
  const spool = join(base, 'spool');
  let listener: Listener;
  try {
    listener = await startListener({
      policy,
      secret: options.secret,
      host: options.host,
      port: options.port,
      aeTitle: options.aeTitle,
      forward: options.forward,
      out: options.out,
      keep,
      spool,
      allowAe: options.allowAe,
      studyIdleSeconds: options.studyIdleSeconds,
      reportJson: join(base, 'listen-report.json'),
      jobs: options.jobs,
      log: (line) => ctx.logger.info({ listener: options.aeTitle }, `dicom listener: ${line}`),
      onEvent: (event) => auditEvent(ctx, name, event, ref),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new VeilError('USAGE', `cannot listen on ${options.host}:${options.port} (${code})`, { field: '--dicom-port' });
    throw error;
  }
  const where = options.forward ? `forwarding to ${options.forward.aeTitle}@${options.forward.host}:${options.forward.port}` : options.out ? `writing to ${options.out}` : 'keeping studies as jobs';
  appendAudit(ctx.db, { ...SYSTEM, action: 'dicom.listen.start', target: `${name} port ${options.port}, ${where}`, policy: ref });
  ctx.logger.info({ port: options.port, aeTitle: options.aeTitle, policy: ref.name, version: ref.version }, 'dicom listener started');
  return {
    listener,
    policy: version,
    async close() {
      await listener.close();
      const t = listener.report().totals;
      appendAudit(ctx.db, { ...SYSTEM, action: 'dicom.listen.stop', target: `${name}: ${t.received} received, ${t.forwarded} forwarded, ${t.written} written, ${t.quarantined} quarantined, ${t.refused} refused, ${t.kept} kept`, policy: ref });
    },
  };
}
