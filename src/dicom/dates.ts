import { keyedDigest } from '../secret/key.js';
import { memoByKey } from './keyedCache.js';

const DAY_MS = 86_400_000;

/** Keyed offset in whole days for one patient, in [minDays, maxDays]; dates move back by it. */
export function dateOffsetDays(secret: Uint8Array, patientKey: string, minDays: number, maxDays: number): number {
  const span = maxDays - minDays + 1;
  const draw = memoByKey(secret, 'dicom-date-shift', patientKey, () => keyedDigest(secret, 'dicom-date-shift', patientKey).readUInt32BE(0));
  return minDays + (draw % span);
}

function parseDate(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (!match) return undefined;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const date = new Date(ms);
  if (date.getUTCMonth() !== Number(match[2]) - 1) return undefined;
  return ms;
}

function formatDate(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/**
 * Shifted DA values per offset: a patient's study, series, acquisition and content dates recur
 * in every file of the patient. Bounded (cleared when full); null marks "not a full date".
 */
const shiftedMemo = new Map<number, Map<string, string | null>>();
let shiftedMemoSize = 0;
const MAX_SHIFTED = 20_000;

/** Shifts a DA value ("YYYYMMDD", possibly multi-valued); undefined when a value is not a full date. */
export function shiftDa(value: string, days: number): string | undefined {
  let ofDays = shiftedMemo.get(days);
  if (!ofDays) {
    ofDays = new Map();
    shiftedMemo.set(days, ofDays);
  }
  const known = ofDays.get(value);
  if (known !== undefined) return known ?? undefined;
  const shifted = shiftDaUncached(value, days);
  if (value.length <= 64) {
    if (shiftedMemoSize >= MAX_SHIFTED) {
      shiftedMemo.clear();
      shiftedMemoSize = 0;
      shiftedMemo.set(days, ofDays);
      ofDays.clear();
    }
    ofDays.set(value, shifted ?? null);
    shiftedMemoSize++;
  }
  return shifted;
}

function shiftDaUncached(value: string, days: number): string | undefined {
  const out: string[] = [];
  for (const part of value.split('\\')) {
    const ms = parseDate(part.trim());
    if (ms === undefined) return undefined;
    out.push(formatDate(ms - days * DAY_MS));
  }
  return out.join('\\');
}

/** Shifts the date part of a DT value; the time and offset suffix are kept (whole-day shift). */
export function shiftDt(value: string, days: number): string | undefined {
  const out: string[] = [];
  for (const part of value.split('\\')) {
    const trimmed = part.trim();
    const shifted = shiftDa(trimmed.slice(0, 8), days);
    if (shifted === undefined) return undefined;
    out.push(shifted + trimmed.slice(8));
  }
  return out.join('\\');
}

/** Age at `at` of someone born on `birth` (both DA), as an AS value ("045Y"); undefined when unknown. */
export function ageString(birth: string, at: string): string | undefined {
  const b = /^(\d{4})(\d{2})(\d{2})$/.exec(birth);
  const a = /^(\d{4})(\d{2})(\d{2})$/.exec(at);
  if (!b || !a) return undefined;
  let years = Number(a[1]) - Number(b[1]);
  if (Number(a[2]) < Number(b[2]) || (a[2] === b[2] && Number(a[3]) < Number(b[3]))) years--;
  if (years < 0 || years > 999) return undefined;
  return `${String(years).padStart(3, '0')}Y`;
}
