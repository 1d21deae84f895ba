/**
 * Shapes of the answers the console reads that the OpenAPI document does not describe in detail
 * (yet): narrow views, every field the page does not need left out, optional where the server
 * may omit it. Generated types are in ./types.ts.
 */
export type Role = 'committee' | 'researcher' | 'auditor';

export interface Session {
  role: Role;
  name: string;
  keyId: string;
  csrfToken: string;
  expiresAt: string;
}

export interface Decision {
  state: 'approved' | 'rejected' | 'pending';
  by?: string;
  at?: string;
  comment?: string;
}

export interface PolicyVersionSummary {
  version: number;
  sha256?: string;
  approved?: boolean;
  createdAt?: string;
  decision?: Decision;
}

export interface PolicySummary {
  name: string;
  latestVersion: number;
  latestApproved: boolean;
  approvedVersions: number[];
}

export interface PolicyDetail {
  name: string;
  version: number;
  sha256: string;
  yaml: string;
  approved: boolean;
  versions?: PolicyVersionSummary[];
  decision?: Decision;
}

export interface ValidationIssue {
  line?: number;
  column?: number;
  path: string;
  message: string;
  text: string;
}

export interface Validation {
  ok: boolean;
  issues: ValidationIssue[];
}

export interface Submitter {
  name: string;
  keyId: string;
}

/** The parts of the engine's tabular report (src/report/tabularReport.ts) the preview shows. */
export interface TabularReportView {
  input?: { rows: number; columns: number };
  privacy?: {
    k?: { required: number; achieved: number | null };
    l?: { variant: string; required: number; achieved: number | null };
    t?: { required: number; achieved: number | null };
    satisfied?: boolean;
  };
  suppressed?: number;
  suppressionLimit?: number;
  classes?: {
    count: number;
    minSize: number | null;
    sizeBins?: { from: number; to: number; classes: number; records: number }[];
    sizeDistribution?: { size: string; classes: number; records: number }[];
  };
  utility?: {
    genILoss?: number;
    perAttribute?: { column: string; ncp: number; genILoss: number }[];
    published?: { perAttribute: { column: string; genILoss: number; atRoot: number; suppressed: number }[] };
  };
  risk?: {
    before?: { prosecutorMax: number; prosecutorAvg: number; recordsAtRisk: number; uniques: number };
    after?: { prosecutorMax: number; prosecutorAvg: number; recordsAtRisk: number; uniques: number };
  };
}

export interface Preview {
  policy: { name: string; version: number; sha256: string };
  rows?: number;
  report: TabularReportView;
}
