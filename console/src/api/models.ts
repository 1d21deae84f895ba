/**
 * The names the console's views use for the API's answers: the generated OpenAPI types
 * (./types.ts, `npm run console:types`), plus the few fields the document leaves open.
 */
import type {
  ApiAuditEntry,
  ApiJob,
  ApiPolicy,
  ApiPolicyDecision,
  ApiPolicySummary,
  ApiPolicyVersionSummary,
  ApiPreviewResult,
  ApiResponses,
  ApiSession,
  ApiTabularReport,
  ApiValidationIssue,
  ApiValidationResult,
} from './types';

export type Session = ApiSession;
export type Role = ApiSession['role'];
export type Decision = ApiPolicyDecision;
export type PolicySummary = ApiPolicySummary;
export type PolicyVersionSummary = ApiPolicyVersionSummary;
export type PolicyDetail = ApiPolicy;
export type ValidationIssue = ApiValidationIssue;
export type Validation = ApiValidationResult;
export type Preview = ApiPreviewResult;
export type TabularReportView = ApiTabularReport;
export type AuditEntry = ApiAuditEntry;
export type PolicyList = ApiResponses['GET /v1/policies'];
export type AuditPage = ApiResponses['GET /v1/audit'];
export type AuditVerdict = ApiResponses['GET /v1/audit/verify'];

/** A job as listed; `overrides` (the researcher's tightening) is in the answer but not yet in the document. */
export type Job = ApiJob & { overrides?: Record<string, unknown> | null };
