import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * The service's embedded database (one SQLite file in the data dir). WAL mode lets the
 * `veil keys create` command write while a server reads; synchronous=FULL so that an
 * acknowledged request (a policy version, an approval, an audit entry) survives a crash.
 */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'veil.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

/**
 * The database opened for reading only (no migration, no write): what `veil audit verify`
 * uses, so that checking a data dir never changes it.
 */
export function openDatabaseReadOnly(dataDir: string): Db {
  const db = new Database(join(dataDir, 'veil.sqlite'), { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Schema versions, applied in order; each runs once (tracked by user_version). */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('committee', 'researcher', 'auditor')),
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE policy_versions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    declared_version TEXT NOT NULL,
    dir TEXT NOT NULL,
    hierarchies TEXT NOT NULL,
    sections TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    approved_at TEXT,
    approved_by TEXT,
    UNIQUE (name, version)
  );
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('tabular', 'dicom', 'image')),
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress REAL NOT NULL DEFAULT 0,
    owner_key_id TEXT NOT NULL REFERENCES api_keys(id),
    policy_version_id INTEGER NOT NULL REFERENCES policy_versions(id),
    overrides TEXT,
    input_count INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT,
    error_field TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  );
  CREATE INDEX jobs_by_status ON jobs (status, created_at);
  CREATE INDEX jobs_by_owner ON jobs (owner_key_id, created_at);
  CREATE TABLE reports (
    job_id TEXT PRIMARY KEY REFERENCES jobs(id),
    json TEXT NOT NULL,
    has_html INTEGER NOT NULL
  );
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    policy_name TEXT,
    policy_version INTEGER,
    policy_sha256 TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  `,
  // policy text and uploaded hierarchy files in separate folders (storage 2); rows stored
  // before keep storage 1 (files beside policy.yaml), and the worker checks their sha256
  `
  ALTER TABLE policy_versions ADD COLUMN storage INTEGER NOT NULL DEFAULT 1;
  `,
  // console sign-in: one row per session, keyed by the sha256 of its cookie (the cookie itself
  // is never stored); a deleted key takes its sessions with it. Committee decisions (approve,
  // reject) with their comments; the audit entry of a decision carries the comment too
  // (audit_log.detail, covered by the entry's MAC)
  `
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX sessions_by_expiry ON sessions (expires_at);
  CREATE TABLE policy_decisions (
    id INTEGER PRIMARY KEY,
    policy_version_id INTEGER NOT NULL REFERENCES policy_versions(id),
    state TEXT NOT NULL CHECK (state IN ('approved', 'rejected')),
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    comment TEXT
  );
  CREATE INDEX decisions_by_version ON policy_decisions (policy_version_id, id);
  ALTER TABLE audit_log ADD COLUMN detail TEXT;
  `,
  // where a DICOM job's input came from when it was pulled, not uploaded (JSON: the configured
  // source's name and a study count, never a UID or a query)
  `
  ALTER TABLE jobs ADD COLUMN source TEXT;
  `,
  // a job stopped by its researcher or the committee (POST /v1/jobs/:id/cancel) ends
  // 'cancelled'. SQLite cannot widen a CHECK in place: jobs is rebuilt, and reports with it
  // (its foreign key must never point at a dropped table while foreign_keys is on)
  `
  CREATE TABLE jobs_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('tabular', 'dicom', 'image')),
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress REAL NOT NULL DEFAULT 0,
    owner_key_id TEXT NOT NULL REFERENCES api_keys(id),
    policy_version_id INTEGER NOT NULL REFERENCES policy_versions(id),
    overrides TEXT,
    input_count INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT,
    error_field TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    source TEXT
  );
  INSERT INTO jobs_new (id, kind, status, progress, owner_key_id, policy_version_id, overrides, input_count, attempts, error_code, error_message, error_field, created_at, started_at, finished_at, source)
    SELECT id, kind, status, progress, owner_key_id, policy_version_id, overrides, input_count, attempts, error_code, error_message, error_field, created_at, started_at, finished_at, source FROM jobs;
  CREATE TABLE reports_new (
    job_id TEXT PRIMARY KEY REFERENCES jobs_new(id),
    json TEXT NOT NULL,
    has_html INTEGER NOT NULL
  );
  INSERT INTO reports_new (job_id, json, has_html) SELECT job_id, json, has_html FROM reports;
  DROP TABLE reports;
  DROP TABLE jobs;
  ALTER TABLE jobs_new RENAME TO jobs;
  ALTER TABLE reports_new RENAME TO reports;
  CREATE INDEX jobs_by_status ON jobs (status, created_at);
  CREATE INDEX jobs_by_owner ON jobs (owner_key_id, created_at);
  `,
];

function migrate(db: Db): void {
  // read and bump the version inside one write transaction, so two processes opening a
  // fresh data dir at once cannot both apply a migration
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true });
    for (let version = typeof current === 'number' ? current : 0; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}

export function nowIso(): string {
  return new Date().toISOString();
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement, compiled once per database handle (the hot read paths reuse them). */
export function statement(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let prepared = cache.get(sql);
  if (!prepared) {
    prepared = db.prepare(sql);
    cache.set(sql, prepared);
  }
  return prepared;
}
