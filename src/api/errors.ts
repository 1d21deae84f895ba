import { isVeilError } from '../errors.js';
import { isDiskFull } from './disk.js';

/** An HTTP-level refusal; its code and message are what the client sees. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  /** Set when the audit entry of this refusal could not be written (the name of that error); the refusal stands. */
  auditFailure?: string;
  /** Every problem of the request (POLICY_INVALID lists each problem of the policy); sent as error.issues. */
  readonly issues: readonly ErrorIssue[] | undefined;

  constructor(status: number, code: string, message: string, field?: string, issues?: readonly ErrorIssue[]) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.issues = issues;
  }
}

/** One problem of a request body, e.g. of a policy: its line, field path and message. */
export interface ErrorIssue {
  line?: number;
  field?: string;
  message: string;
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string; issues?: readonly ErrorIssue[] };
}

/** Library error codes that mean "the data cannot be processed as given" (well-formed, but beyond the policy or a limit). */
const UNPROCESSABLE = new Set(['POLICY_UNSATISFIABLE', 'CSV_CELL_TOO_LARGE']);

/** Job failures that are the server's doing, not the client's input. */
const SERVER_SIDE = new Set(['INTERNAL', 'WORKER_CRASHED', 'JOB_TIMEOUT', 'INTERRUPTED', 'POLICY_TAMPERED']);

/** HTTP status for a job or request that failed with a library error code. */
export function statusForCode(code: string): number {
  if (code === 'DISK_FULL') return 507;
  // a configured PACS did not answer: the gateway's failure, not the client's input
  if (code === 'SOURCE_UNREACHABLE' || code === 'DESTINATION_UNREACHABLE') return 502;
  if (UNPROCESSABLE.has(code)) return 422;
  if (SERVER_SIDE.has(code)) return 500;
  return 400;
}

/**
 * Turns anything thrown by a handler into a status and a body. Unknown errors become a
 * generic 500: their messages may quote data, and stacks are never sent.
 */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof ApiError) {
    const sent = body(error.code, error.message, error.field);
    if (error.issues) sent.error.issues = error.issues;
    return { status: error.status, body: sent, internal: false };
  }
  if (isVeilError(error)) {
    const where = error.location.line ? `line ${error.location.line}: ` : '';
    return { status: statusForCode(error.code), body: body(error.code, `${where}${error.message}`, error.location.field), internal: false };
  }
  const multer = multerCode(error);
  if (multer) {
    if (multer.code === 'LIMIT_UNEXPECTED_FILE') {
      return { status: 400, body: body('UNEXPECTED_FIELD', 'unexpected file field in the multipart body', multer.field), internal: false };
    }
    if (multer.code === 'LIMIT_FIELD_KEY' || multer.code === 'LIMIT_FIELD_COUNT') {
      return { status: 400, body: body('BAD_MULTIPART', 'too many or too long form fields', multer.field), internal: false };
    }
    if (MALFORMED_MULTER_CODES.has(multer.code)) {
      return { status: 400, body: body('BAD_MULTIPART', 'a part of the multipart/form-data body has no usable field name or was cut short', multer.field), internal: false };
    }
    return { status: 413, body: body('PAYLOAD_TOO_LARGE', 'the upload exceeds the size or count limit of this server', multer.field), internal: false };
  }
  if (isDiskFull(error)) {
    return { status: 507, body: body('DISK_FULL', 'the server is out of disk space; retry later or ask the operator to free space'), internal: false };
  }
  const http = httpErrorFields(error);
  if (http) {
    if (http.status === 413) return { status: 413, body: body('PAYLOAD_TOO_LARGE', 'the request body exceeds the size limit of this server'), internal: false };
    if (http.type === 'entity.parse.failed') return { status: 400, body: body('BAD_JSON', 'the request body is not valid JSON'), internal: false };
    if (http.status === 404) return { status: 404, body: body('NOT_FOUND', 'the file of this resource is missing'), internal: false };
    if (http.status >= 400 && http.status < 500) return { status: 400, body: body('BAD_REQUEST', 'the request could not be read'), internal: false };
  }
  return { status: 500, body: body('INTERNAL', 'internal error; the server log has a reference to it'), internal: true };
}

function body(code: string, message: string, field?: string): ErrorBody {
  return field ? { error: { code, message, field } } : { error: { code, message } };
}

/** Multer codes that say the body is malformed rather than too large. */
const MALFORMED_MULTER_CODES = new Set(['MISSING_FIELD_NAME', 'INVALID_FIELD_NAME', 'LIMIT_FIELD_NESTING', 'LIMIT_FIELD_ARRAY_INDEX', 'STREAM_DESTROYED']);

function multerCode(error: unknown): { code: string; field?: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as { name?: unknown; code?: unknown; field?: unknown };
  if (candidate.name !== 'MulterError' || typeof candidate.code !== 'string') return undefined;
  return { code: candidate.code, field: typeof candidate.field === 'string' ? candidate.field : undefined };
}

function httpErrorFields(error: unknown): { status: number; type?: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as { status?: unknown; statusCode?: unknown; type?: unknown };
  const status = typeof candidate.status === 'number' ? candidate.status : typeof candidate.statusCode === 'number' ? candidate.statusCode : undefined;
  if (status === undefined) return undefined;
  return { status, type: typeof candidate.type === 'string' ? candidate.type : undefined };
}
