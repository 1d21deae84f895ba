export { ApiFailure, getJson, getText, onSessionEnded, policyPath, sendJson, setCsrfToken } from './client';
export type { Body } from './client';
export type * from './models';
export type { ApiAuditEntry, ApiJob, ApiResponses } from './types';
