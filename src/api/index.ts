/**
 * The HTTP API's public entry (package export `veil/server`): the server over Veil's library,
 * and the data-dir administration the CLI does beside it (API keys, the audit log). Apart from
 * the library's entry (src/index.ts) so that a library user never loads Express.
 */
export { createApi, startServer, defaultConcurrency, type ApiOptions, type Api, type RunningServer } from './server.js';
export { openDatabase, type Db } from './db.js';
export { createApiKey, type ApiKeyRecord } from './keys.js';
export { ROLES, isRole, type Role } from './roles.js';
export { appendAudit, type AuditEntry } from './audit.js';
