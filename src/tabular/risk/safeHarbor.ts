import type { Table } from '../table.js';

/**
 * A check of a published table against HIPAA's Safe Harbor method (45 CFR §164.514(b)(2)(i)):
 * which of the 18 kinds of identifiers (A–R) remain, in which columns. Columns are judged by
 * their name and by the shape of their published values; the result holds counts and column
 * names only, never a value. A pass is evidence, not proof: only names and shapes are checked,
 * and the rule "(R) any other unique identifying number" is approximated by columns whose
 * values are all distinct.
 */
export type SafeHarborStatus = 'pass' | 'fail' | 'review';

export interface SafeHarborRule {
  /** Letter of the identifier kind in §164.514(b)(2)(i). */
  id: string;
  identifier: string;
  status: SafeHarborStatus;
  /** Columns where the identifier remains, with the number of cells found. */
  columns: { column: string; cells: number }[];
  /** What was checked. */
  check: string;
}

export interface SafeHarborResult {
  satisfied: boolean;
  rules: SafeHarborRule[];
}

export interface SafeHarborOptions {
  /** Cell texts that mean "missing" (never identifiers). */
  missingValues: ReadonlySet<string>;
  /** Population of each 3-digit ZIP prefix (e.g. from the US Census), when the policy gives one. */
  zipPopulation?: ReadonlyMap<string, number>;
}

interface ValueTest {
  /** Column names that hold this identifier (tested on the lower-cased name). */
  name?: RegExp;
  /** Published values that are this identifier whatever the column. */
  value?: (text: string) => boolean;
  /** The value shape also fits other codes (a VIN is any 17 letters and digits): test it only in columns no rule named. */
  weakShape?: boolean;
  /** In a column matched by name, what a value must still hold to count (default: every value counts). */
  keeps?: (text: string) => boolean;
}

/** A masked number that keeps a few digits (phone `********12`) no longer is the number. */
const digits = (min: number) => (text: string) => (text.match(/\d/g)?.length ?? 0) >= min;

const DATE_FINER_THAN_YEAR = /\b\d{4}-(0[1-9]|1[0-2]|Q[1-4])\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b/i;
const PHONE = /^\+?(\d[\s().-]*){10,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
const SSN = /^\d{3}-\d{2}-\d{4}$/;
const URL = /^(https?:\/\/|www\.)\S+$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}$/i;
const VIN = /^[A-HJ-NPR-Z0-9]{17}$/;
/** Five-digit ZIP (optionally ZIP+4) or any partly masked ZIP keeping 4 or more digits. */
const ZIP_FINE = /^\d{5}(-\d{4})?$|^\d{4}[*xX]$/;
const ZIP3 = /^(\d{3})([*xX]{2})?$/;

const RULES: { id: string; identifier: string; test: ValueTest; check: string }[] = [
  { id: 'A', identifier: 'names', test: { name: /(^|[^a-z])(name|surname|first_?name|last_?name|given_?name|family_?name|full_?name)([^a-z]|$)/ }, check: 'column named like a name with published values' },
  { id: 'B', identifier: 'geographic subdivisions smaller than a state', test: { name: /(^|[^a-z])(address|street|city|town|county|zip|zipcode|postal|postcode|geo|latitude|longitude)([^a-z]|$)/ }, check: 'address, city or county columns with values; ZIP codes with more than 3 digits; with a ZIP population table, 3-digit ZIPs whose population is under 20,000 (must be 000)' },
  { id: 'C', identifier: 'dates (except year) and ages over 89', test: { value: (t) => DATE_FINER_THAN_YEAR.test(t) }, check: 'values with a month, quarter or day (alone or inside a range); ages or age ranges entirely above 89' },
  { id: 'D', identifier: 'telephone numbers', test: { name: /phone|(^|[^a-z])tel([^a-z]|$)|mobile|cell_?phone/, value: (t) => PHONE.test(t), keeps: digits(7) }, check: 'phone-like column names (values keeping 7 digits or more); values of 10 to 14 digits with phone punctuation' },
  { id: 'E', identifier: 'fax numbers', test: { name: /fax/, keeps: digits(7) }, check: 'fax column names (values keeping 7 digits or more)' },
  { id: 'F', identifier: 'email addresses', test: { name: /e-?mail/, value: (t) => EMAIL.test(t) }, check: 'email column names; values shaped like an address' },
  { id: 'G', identifier: 'social security numbers', test: { name: /(^|[^a-z])(ssn|social_?security)([^a-z]|$)/, value: (t) => SSN.test(t), keeps: digits(4) }, check: 'SSN column names (values keeping 4 digits or more); values shaped like ddd-dd-dddd' },
  { id: 'H', identifier: 'medical record numbers', test: { name: /(^|[^a-z])(mrn|medical_?record|patient_?(id|number|no))([^a-z]|$)/ }, check: 'medical record / patient number column names (a keyed pseudonym is still derived from the number)' },
  { id: 'I', identifier: 'health plan beneficiary numbers', test: { name: /health_?plan|beneficiary|member_?(id|number)|insurance_?(id|number)|policy_?number/ }, check: 'health plan column names' },
  { id: 'J', identifier: 'account numbers', test: { name: /account|(^|[^a-z])acct|iban/ }, check: 'account column names' },
  { id: 'K', identifier: 'certificate / license numbers', test: { name: /licen[cs]e|certificate/ }, check: 'certificate / license column names' },
  { id: 'L', identifier: 'vehicle identifiers and license plates', test: { name: /(^|[^a-z])vin([^a-z]|$)|vehicle|plate/, value: (t) => VIN.test(t) && /\d/.test(t) && /[A-Z]/.test(t), weakShape: true }, check: 'vehicle column names; 17-character VIN-shaped values' },
  { id: 'M', identifier: 'device identifiers and serial numbers', test: { name: /device|serial|(^|[^a-z])(udi|imei)([^a-z]|$)/ }, check: 'device / serial column names' },
  { id: 'N', identifier: 'web URLs', test: { name: /(^|[^a-z])(url|website|web_?page)([^a-z]|$)/, value: (t) => URL.test(t) }, check: 'URL column names; values starting with http(s):// or www.' },
  { id: 'O', identifier: 'IP addresses', test: { name: /(^|[^a-z])ip(_?address)?([^a-z]|$)/, value: (t) => IPV4.test(t) || (t.includes(':') && IPV6.test(t) && /[0-9a-f]{2}/i.test(t)) }, check: 'IP column names; IPv4 / IPv6-shaped values' },
  { id: 'P', identifier: 'biometric identifiers', test: { name: /biometric|fingerprint|retina|iris_?scan|voice_?print/ }, check: 'biometric column names' },
  { id: 'Q', identifier: 'full-face photographs', test: { name: /(^|[^a-z])(photos?|photograph|picture|image|face|face_?image)([^a-z]|$)/ }, check: 'photo / image column names with values' },
  { id: 'R', identifier: 'any other unique identifying number or code', test: {}, check: 'columns of 20 or more values that are all distinct (a code per record)' },
];

export function safeHarborCheck(table: Table, options: SafeHarborOptions): SafeHarborResult {
  const found = new Map<string, Map<string, number>>(RULES.map((r) => [r.id, new Map()]));
  const add = (rule: string, column: string, cells: number) => {
    if (cells <= 0) return;
    const byColumn = found.get(rule) as Map<string, number>;
    byColumn.set(column, (byColumn.get(column) ?? 0) + cells);
  };
  let zipReview = false;
  for (const column of table.columns) {
    // Count each published text once: tests run per distinct value, cells are the value's count.
    const counts = new Int32Array(column.dictionary.length);
    for (let r = 0; r < column.codes.length; r++) counts[column.codes[r]]++;
    const present: { text: string; cells: number }[] = [];
    column.dictionary.forEach((text, code) => {
      if (counts[code] > 0 && text !== '' && !options.missingValues.has(text) && text !== '*') present.push({ text, cells: counts[code] });
    });
    if (present.length === 0) continue;
    const name = column.name.toLowerCase();
    const filled = present.reduce((a, p) => a + p.cells, 0);
    const isZip = /zip|postal|postcode/.test(name);
    let claimed = false;
    for (const rule of RULES) {
      if (rule.id === 'R') continue;
      if (rule.id === 'B' && isZip) {
        claimed = true;
        for (const p of present) {
          if (ZIP_FINE.test(p.text)) add('B', column.name, p.cells);
          const prefix = ZIP3.exec(p.text)?.[1];
          if (prefix !== undefined && prefix !== '000') {
            if (!options.zipPopulation) zipReview = true;
            else if ((options.zipPopulation.get(prefix) ?? 0) < 20_000) add('B', column.name, p.cells);
          }
        }
        continue;
      }
      if (rule.test.name?.test(name)) {
        const keeps = rule.test.keeps;
        add(rule.id, column.name, keeps ? present.filter((p) => keeps(p.text)).reduce((a, p) => a + p.cells, 0) : filled);
        claimed = true;
        continue;
      }
      const value = rule.test.value;
      if (value && !(rule.test.weakShape && claimed)) for (const p of present) if (value(p.text)) add(rule.id, column.name, p.cells);
    }
    if (/(^|[^a-z])age([^a-z]|$)/.test(name)) {
      for (const p of present) if (ageAbove89(p.text)) add('C', column.name, p.cells);
    }
    // (R): a value per record, in a column no other rule named.
    if (!claimed && present.length >= 20 && present.every((p) => p.cells === 1)) add('R', column.name, filled);
  }
  const rules: SafeHarborRule[] = RULES.map((rule) => {
    const columns = [...(found.get(rule.id) as Map<string, number>)].map(([column, cells]) => ({ column, cells }));
    const status: SafeHarborStatus = columns.length > 0 ? 'fail' : rule.id === 'B' && zipReview ? 'review' : 'pass';
    const check = rule.id === 'B' && zipReview ? `${rule.check} — no ZIP population table given: 3-digit ZIPs not checked against the 20,000 rule` : rule.check;
    return { id: rule.id, identifier: rule.identifier, status, columns, check };
  });
  return { satisfied: rules.every((r) => r.status === 'pass'), rules };
}

/** An age, or an age range, that lies entirely above 89 and is not the open "90 or older" group. */
function ageAbove89(text: string): boolean {
  if (/^(≥|>=|>)\s*\d+$|^\d+\s*\+$|or older|and over/i.test(text)) return false;
  const numbers = text.match(/\d+(\.\d+)?/g);
  if (!numbers) return false;
  const low = Math.min(...numbers.map(Number));
  return low > 89 && low < 200;
}
