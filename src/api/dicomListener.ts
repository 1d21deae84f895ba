/**
 * `veil serve --dicom-port N --dicom-policy NAME`: the DICOM listener of `veil dicom listen`
 * running inside the server process, on the latest approved version of a stored policy (its
 * bytes checked against the approved sha256, as a job's are), with its spool in the data dir.
 * What it receives, releases, forwards and quarantines is counted in the audit log: one entry
 * per released study with counts, one per quarantined instance with its reason code, never a
 * UID or a data value.
 */
import { join } from 'node:path';
import { VeilError } from '../errors.js';
import type { Destination } from '../dicom/net/dimse.js';
import type { Listener, ListenEvent } from '../dicom/net/listen.js';
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
  const counts = `${event.received} received, ${event.forwarded} forwarded, ${event.written} written, ${event.quarantined} quarantined`;
  appendAudit(ctx.db, { ...SYSTEM, action: 'dicom.study.released', target: `${listener} study: ${counts}`, policy });
}

export async function startDicomListener(ctx: ApiContext, options: DicomListenerOptions): Promise<RunningDicomListener> {
  const version = latestApproved(ctx, options.policyName);
  const policy = await approvedPolicy(ctx, version);
  const ref = policyRef(version);
  const name = `dicom-listener:${options.aeTitle}`;
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
  const where = options.forward ? `forwarding to ${options.forward.aeTitle}@${options.forward.host}:${options.forward.port}` : `writing to ${options.out ?? ''}`;
  appendAudit(ctx.db, { ...SYSTEM, action: 'dicom.listen.start', target: `${name} port ${options.port}, ${where}`, policy: ref });
  ctx.logger.info({ port: options.port, aeTitle: options.aeTitle, policy: ref.name, version: ref.version }, 'dicom listener started');
  return {
    listener,
    policy: version,
    async close() {
      await listener.close();
      const t = listener.report().totals;
      appendAudit(ctx.db, { ...SYSTEM, action: 'dicom.listen.stop', target: `${name}: ${t.received} received, ${t.forwarded} forwarded, ${t.written} written, ${t.quarantined} quarantined, ${t.refused} refused`, policy: ref });
    },
  };
}
