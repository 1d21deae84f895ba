import { keyedDigest } from '../secret/key.js';
import { memoByKey } from './keyedCache.js';

/** Keyed, stable pseudonym of a patient identifier: "VEIL-" + 16 hex digits. */
export function patientPseudonym(secret: Uint8Array, patientKey: string): string {
  return memoByKey(secret, 'dicom-patient', patientKey, () => `VEIL-${keyedDigest(secret, 'dicom-patient', patientKey).subarray(0, 8).toString('hex').toUpperCase()}`);
}

/** Keyed pseudonym of any other value a policy asks to pseudonymize, cut to `maxLength`. */
export function valuePseudonym(secret: Uint8Array, keyword: string, value: string, maxLength: number): string {
  const purpose = `dicom-value:${keyword}`;
  const hex = memoByKey(secret, purpose, value, () => keyedDigest(secret, purpose, value).toString('hex').toUpperCase());
  return hex.slice(0, Math.max(4, Math.min(maxLength, 16)));
}

/** Maximum length of a value of each string VR (PS3.5 table 6.2-1). */
export const MAX_LENGTH: Readonly<Record<string, number>> = { AE: 16, CS: 16, SH: 16, LO: 64, PN: 64, ST: 1024, LT: 10240, UT: 1_000_000, UC: 1_000_000, DS: 16, IS: 12 };
