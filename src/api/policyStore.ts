import { nowIso, statement, type Db } from './db.js';

/** One stored version of a named policy. Versions are numbered 1, 2, … per name. */
export interface PolicyVersion {
  id: number;
  name: string;
  version: number;
  sha256: string;
  /** The `version:` written inside the YAML (informative; the stored version is authoritative). */
  declaredVersion: string;
  /** Token of the directory holding policy.yaml and its hierarchy files. */
  dir: string;
  /** Layout of that directory (POLICY_STORAGE in layout.ts). */
  storage: number;
  hierarchies: { path: string; sha256: string }[];
  /** Which sections the policy has: tabular, dicom, pixels. */
  sections: string[];
  createdAt: string;
  createdBy: string;
  approved: boolean;
  approvedAt: string | null;
  approvedBy: string | null;
}

interface PolicyRow {
  id: number;
  name: string;
  version: number;
  sha256: string;
  declared_version: string;
  dir: string;
  storage: number;
  hierarchies: string;
  sections: string;
  created_at: string;
  created_by: string;
  approved_at: string | null;
  approved_by: string | null;
}

function fromRow(row: PolicyRow): PolicyVersion {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    sha256: row.sha256,
    declaredVersion: row.declared_version,
    dir: row.dir,
    storage: row.storage,
    hierarchies: JSON.parse(row.hierarchies) as PolicyVersion['hierarchies'],
    sections: JSON.parse(row.sections) as string[],
    createdAt: row.created_at,
    createdBy: row.created_by,
    approved: row.approved_at !== null,
    approvedAt: row.approved_at,
    approvedBy: row.approved_by,
  };
}

export interface NewPolicyVersion {
  name: string;
  sha256: string;
  declaredVersion: string;
  dir: string;
  storage: number;
  hierarchies: { path: string; sha256: string }[];
  sections: string[];
  createdBy: string;
}

/** Stores a new version (number = previous + 1) in one write transaction. */
export function insertPolicyVersion(db: Db, input: NewPolicyVersion): PolicyVersion {
  return db
    .transaction((): PolicyVersion => {
      const last = statement(db, 'SELECT MAX(version) AS v FROM policy_versions WHERE name = ?').get(input.name) as { v: number | null };
      const version = (last.v ?? 0) + 1;
      const info = statement(
        db,
        `INSERT INTO policy_versions (name, version, sha256, declared_version, dir, storage, hierarchies, sections, created_at, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(input.name, version, input.sha256, input.declaredVersion, input.dir, input.storage, JSON.stringify(input.hierarchies), JSON.stringify(input.sections), nowIso(), input.createdBy);
      return getPolicyVersionById(db, Number(info.lastInsertRowid)) as PolicyVersion;
    })
    .immediate();
}

export function getPolicyVersionById(db: Db, id: number): PolicyVersion | undefined {
  const row = statement(db, 'SELECT * FROM policy_versions WHERE id = ?').get(id) as PolicyRow | undefined;
  return row ? fromRow(row) : undefined;
}

/** A given version, or the latest when `version` is undefined. */
export function getPolicyVersion(db: Db, name: string, version?: number): PolicyVersion | undefined {
  const row = (
    version === undefined
      ? statement(db, 'SELECT * FROM policy_versions WHERE name = ? ORDER BY version DESC LIMIT 1').get(name)
      : statement(db, 'SELECT * FROM policy_versions WHERE name = ? AND version = ?').get(name, version)
  ) as PolicyRow | undefined;
  return row ? fromRow(row) : undefined;
}

export function listPolicyVersions(db: Db, name: string): PolicyVersion[] {
  return (statement(db, 'SELECT * FROM policy_versions WHERE name = ? ORDER BY version').all(name) as PolicyRow[]).map(fromRow);
}

export interface PolicySummary {
  name: string;
  latestVersion: number;
  latestApproved: boolean;
  approvedVersions: number[];
}

export function listPolicies(db: Db): PolicySummary[] {
  const rows = statement(db, 'SELECT name, version, approved_at FROM policy_versions ORDER BY name, version').all() as {
    name: string;
    version: number;
    approved_at: string | null;
  }[];
  const byName = new Map<string, PolicySummary>();
  for (const row of rows) {
    const summary = byName.get(row.name) ?? { name: row.name, latestVersion: 0, latestApproved: false, approvedVersions: [] };
    summary.latestVersion = row.version;
    summary.latestApproved = row.approved_at !== null;
    if (row.approved_at !== null) summary.approvedVersions.push(row.version);
    byName.set(row.name, summary);
  }
  return [...byName.values()];
}

/** Marks a version approved (idempotent: a second approval keeps the first approver). */
export function approvePolicyVersion(db: Db, id: number, approvedBy: string): PolicyVersion {
  statement(db, 'UPDATE policy_versions SET approved_at = ?, approved_by = ? WHERE id = ? AND approved_at IS NULL').run(nowIso(), approvedBy, id);
  return getPolicyVersionById(db, id) as PolicyVersion;
}

export function policyRef(version: PolicyVersion): { name: string; version: number; sha256: string } {
  return { name: version.name, version: version.version, sha256: version.sha256 };
}

/** A committee decision on a version; `pending` when none was taken. */
export interface PolicyDecision {
  state: 'approved' | 'rejected' | 'pending';
  by: string | null;
  at: string | null;
  comment: string | null;
}

/**
 * Records an approval or a rejection with its comment. A rejection withdraws an earlier
 * approval (no new job runs on the version until it is approved again); the approval itself
 * is approvePolicyVersion's. Call inside the transaction that writes the audit entry.
 */
export function recordDecision(db: Db, versionId: number, state: 'approved' | 'rejected', by: string, comment: string | null): PolicyDecision {
  const at = nowIso();
  if (state === 'rejected') statement(db, 'UPDATE policy_versions SET approved_at = NULL, approved_by = NULL WHERE id = ?').run(versionId);
  statement(db, 'INSERT INTO policy_decisions (policy_version_id, state, decided_by, decided_at, comment) VALUES (?, ?, ?, ?, ?)').run(versionId, state, by, at, comment);
  return { state, by, at, comment };
}

/** The latest decision on each version of `name` (versions approved before decisions were recorded count as approved). */
export function decisionsOf(db: Db, versions: readonly PolicyVersion[]): Map<number, PolicyDecision> {
  const out = new Map<number, PolicyDecision>();
  const latest = statement(db, 'SELECT state, decided_by, decided_at, comment FROM policy_decisions WHERE policy_version_id = ? ORDER BY id DESC LIMIT 1');
  for (const v of versions) {
    const row = latest.get(v.id) as { state: 'approved' | 'rejected'; decided_by: string; decided_at: string; comment: string | null } | undefined;
    if (row) out.set(v.id, { state: row.state, by: row.decided_by, at: row.decided_at, comment: row.comment });
    else out.set(v.id, v.approved ? { state: 'approved', by: v.approvedBy, at: v.approvedAt, comment: null } : { state: 'pending', by: null, at: null, comment: null });
  }
  return out;
}
