/**
 * Errors Veil reports to users. A `VeilError` is an expected failure caused by input
 * (a policy, a CSV, a DICOM file, an impossible parameter): the CLI prints its one-line
 * message and exits 2; the API maps it to a 4xx. Anything else is a bug.
 *
 * Messages must never contain data values (PHI): name files, lines, columns and fields.
 */
export type ErrorCode =
  | 'POLICY_INVALID'
  | 'POLICY_UNSATISFIABLE'
  | 'CSV_INVALID'
  | 'CSV_CELL_TOO_LARGE'
  | 'COLUMN_UNKNOWN'
  | 'VALUE_INVALID'
  | 'HIERARCHY_INVALID'
  | 'SECRET_MISSING'
  | 'FILE_NOT_FOUND'
  | 'DICOM_INVALID'
  | 'IMAGE_INVALID'
  /** No input file of a DICOM or image run could be processed (the report says why per file). */
  | 'NO_USABLE_INPUT'
  /** A configured DICOMweb source (or destination) could not be reached or failed a request. */
  | 'SOURCE_UNREACHABLE'
  | 'DESTINATION_UNREACHABLE'
  | 'MODEL_INVALID'
  | 'SCHEME_INVALID'
  | 'USAGE';

export interface ErrorLocation {
  file?: string;
  line?: number;
  /** Dotted path of a policy field, or a column name. */
  field?: string;
}

export class VeilError extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation;

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}) {
    super(message);
    this.name = 'VeilError';
    this.code = code;
    this.location = location;
  }

  /** One line for stderr: `file:line: field: message`. */
  toLine(): string {
    const where = formatLocation(this.location);
    return where ? `${where}: ${this.message}` : this.message;
  }
}

export function formatLocation(location: ErrorLocation): string {
  const parts: string[] = [];
  if (location.file) parts.push(location.line ? `${location.file}:${location.line}` : location.file);
  else if (location.line) parts.push(`line ${location.line}`);
  if (location.field) parts.push(location.field);
  return parts.join(': ');
}

export function isVeilError(error: unknown): error is VeilError {
  return error instanceof VeilError;
}
