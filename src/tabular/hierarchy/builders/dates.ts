/**
 * Date hierarchy: day → month (2019-03) → quarter (2019-Q1) → year (2019) → decade (2010s) → *,
 * with the levels the policy lists. Quarters and decades are computed from calendar fields,
 * never from day counts, so month 3 is Q1 and 2019 is in the 2010s.
 */
export type DateLevel = 'month' | 'quarter' | 'year' | 'decade';

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

// The optional time part must be a time (hh:mm[:ss[.fff]] with an optional zone): a leaf is
// published as its cell text, so free text after a date must not pass as one.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/;
const SLASHED = /^(\d{4})\/(\d{2})\/(\d{2})$/;

/** Parses YYYY-MM-DD (a time of day after T or a space is allowed and ignored), YYYYMMDD (DICOM DA) or YYYY/MM/DD; undefined if not a real date. */
export function parseDate(text: string): CalendarDate | undefined {
  const m = ISO.exec(text) ?? COMPACT.exec(text) ?? SLASHED.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined;
  return { year, month, day };
}

/** Days since 1970-01-01, for ordering and ranges. */
export function dayNumber(date: CalendarDate): number {
  return Date.UTC(date.year, date.month - 1, date.day) / 86_400_000;
}

export function dateLabel(date: CalendarDate, level: DateLevel): string {
  switch (level) {
    case 'month':
      return `${date.year}-${String(date.month).padStart(2, '0')}`;
    case 'quarter':
      return `${date.year}-Q${Math.floor((date.month - 1) / 3) + 1}`;
    case 'year':
      return String(date.year);
    case 'decade':
      return `${Math.floor(date.year / 10) * 10}s`;
  }
}

export function datePaths(values: readonly string[], dates: readonly CalendarDate[], levels: readonly DateLevel[]): string[][] {
  const ordered = orderLevels(levels);
  return values.map((text, i) => [text, ...ordered.map((level) => dateLabel(dates[i], level)), '*']);
}

const RANK: Record<DateLevel, number> = { month: 0, quarter: 1, year: 2, decade: 3 };

function orderLevels(levels: readonly DateLevel[]): DateLevel[] {
  return [...new Set(levels)].sort((a, b) => RANK[a] - RANK[b]);
}
