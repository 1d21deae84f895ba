/**
 * Patterns of identifying text burned into images. Each names a reason; none is needed to
 * decide that text is PHI (anything off the allow-list is), but they keep PHI that looks
 * technical (a time "12:30", an age "45Y", a 4-digit year) from passing as safe.
 */
export type PhiReason = 'header' | 'date' | 'time' | 'id' | 'phone' | 'ssn' | 'email' | 'age' | 'name' | 'label' | 'text';

const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC|JANUARY|FEBRUARY|MARCH|APRIL|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER';

const PATTERNS: [PhiReason, RegExp][] = [
  ['email', /[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}/],
  ['ssn', /\b\d{3}[- ]\d{2}[- ]\d{4}\b/],
  ['phone', /(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b/],
  ['date', /\b\d{1,4}[-/.]\d{1,2}[-/.]\d{2,4}\b/],
  ['date', new RegExp(String.raw`\b\d{1,2}[\s-]?(?:${MONTHS})[\s,-]*\d{2,4}\b|\b(?:${MONTHS})[\s.-]?\d{1,2},?[\s-]?\d{2,4}\b`)],
  ['date', /\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b/],
  ['date', /\b(?:19|20)\d{2}\b/],
  ['time', /\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AP]M)?\b/],
  ['age', /\b\d{1,3}\s?(?:Y|YR|YRS|YEARS?|YO|Y\/O|MO|MOS|MONTHS?|WK|WKS|WEEKS?|DAYS?)\b|\bAGE\b/],
  ['id', /\b(?:MRN|PID|ID|ACC|ACCESSION|ACC#|MR#|PATIENT\s?ID|CASE|STUDY)\b/],
  ['id', /\b[A-Z]{0,3}\d{5,}[A-Z]?\b/],
  ['label', /\b(?:NAME|DOB|D\.O\.B|BIRTH|BORN|PATIENT|SEX|DR\.|PHYSICIAN|REFERRING|HOSPITAL|CLINIC|MEDICAL|INSTITUTION|INST|UNIVERSITY|ADDRESS|STREET|ST\.|AVE|MR\.|MRS\.|MS\.)\b/],
];

/** The first pattern reason that matches the upper-cased line, if any. */
export function matchPhiPattern(upper: string): PhiReason | undefined {
  // OCR often puts spaces around separators ("12 :15", "03 / 12/1985"): test both forms.
  // …and drops spaces ("170CT1977" is "17 OCT 1977"): also test with letters and digits apart.
  const collapsed = upper.replace(/\s*([:/.-])\s*/g, '$1');
  const apart = upper.replace(/([A-Z])(?=\d)|(\d)(?=[A-Z])/g, '$1$2 ');
  for (const [reason, pattern] of PATTERNS) if (pattern.test(upper) || pattern.test(collapsed) || pattern.test(apart)) return reason;
  return undefined;
}
