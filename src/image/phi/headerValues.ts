/**
 * Matchers built from the identifying values of a file's own header (patient name, IDs,
 * birth and study dates, institution, physicians…), so that the same values burned into
 * the pixels are recognized in any order, case and common date format. Values never leave
 * this module: callers only learn "matched" or not.
 */
export interface HeaderMatcher {
  matches(upperLine: string): boolean;
}

interface SimpleDate {
  year: number;
  month: number;
  day: number;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

export function buildHeaderMatcher(values: readonly string[]): HeaderMatcher {
  const words = new Set<string>();
  const ids = new Set<string>();
  const dates: SimpleDate[] = [];
  for (const raw of values) {
    const upper = raw.toUpperCase();
    const compact = upper.replace(/[^A-Z0-9]/g, '');
    const date = /^(\d{4})(\d{2})(\d{2})/.exec(upper.replace(/[^0-9]/g, ''));
    if (date && /^\d{8}/.test(upper.trim())) {
      dates.push({ year: Number(date[1]), month: Number(date[2]), day: Number(date[3]) });
      continue;
    }
    if (/\d/.test(compact) && compact.length >= 3) ids.add(compact);
    for (const word of upper.split(/[^A-Z0-9]+/)) {
      if (word.length >= 3 && /[A-Z]/.test(word)) words.add(word);
      else if (word.length >= 3 && /^\d+$/.test(word)) ids.add(word);
    }
  }
  return {
    matches(line: string): boolean {
      const tokens = line.split(/[^A-Z0-9]+/).filter(Boolean);
      for (const token of tokens) {
        if (words.has(token)) return true;
        for (const word of words) if (word.length >= 5 && Math.abs(word.length - token.length) <= 1 && withinOneEdit(word, token)) return true;
      }
      const compactLine = line.replace(/[^A-Z0-9]/g, '');
      for (const id of ids) if (compactLine.includes(id)) return true;
      if (dates.length > 0) {
        for (const found of datesInLine(line)) {
          if (dates.some((d) => sameDate(d, found))) return true;
        }
      }
      return false;
    },
  };
}

function sameDate(a: SimpleDate, b: SimpleDate): boolean {
  const year = b.year < 100 ? a.year % 100 : a.year;
  return a.month === b.month && a.day === b.day && year === b.year;
}

/** Every plausible reading of the dates in a line (D/M/Y and M/D/Y are both tried). */
export function datesInLine(line: string): SimpleDate[] {
  const found: SimpleDate[] = [];
  const push = (year: number, month: number, day: number): void => {
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31) found.push({ year, month, day });
  };
  for (const m of line.matchAll(/(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})/g)) {
    const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (m[1].length === 4) push(a, b, c);
    else {
      push(c, b, a);
      push(c, a, b);
    }
  }
  for (const m of line.matchAll(/(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)/g)) push(Number(m[1]), Number(m[2]), Number(m[3]));
  for (const m of line.matchAll(/(\d{1,2})[\s-]?([A-Z]{3})[A-Z]*[\s,-]*(\d{2,4})/g)) push(Number(m[3]), MONTH_NAMES.indexOf(m[2]) + 1, Number(m[1]));
  for (const m of line.matchAll(/([A-Z]{3})[A-Z]*[\s.-]?(\d{1,2}),?[\s-]?(\d{2,4})/g)) push(Number(m[3]), MONTH_NAMES.indexOf(m[1]) + 1, Number(m[2]));
  return found;
}

/** Levenshtein distance ≤ 1 (OCR confuses or drops one character). */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}
