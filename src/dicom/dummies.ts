/** Dummy values for action D, consistent with each VR (PS3.5 6.2). */
export const DUMMY_TEXT: Readonly<Record<string, string>> = {
  AE: 'ANONYMIZED',
  AS: '000Y',
  CS: 'ANONYMIZED',
  DA: '19000101',
  DT: '19000101000000',
  TM: '000000',
  DS: '0',
  IS: '0',
  LO: 'ANONYMIZED',
  LT: 'ANONYMIZED',
  PN: 'ANONYMIZED',
  SH: 'ANONYMIZED',
  ST: 'ANONYMIZED',
  UC: 'ANONYMIZED',
  UT: 'ANONYMIZED',
  UR: 'urn:veil:anonymized',
};

/** The dummy for binary VRs: zeros of the same length, so the value multiplicity is kept. */
export function dummyBytes(vr: string, length: number): Uint8Array {
  const text = DUMMY_TEXT[vr];
  if (text !== undefined) return Buffer.from(text, 'latin1');
  return new Uint8Array(length);
}

/** Texts Veil writes itself; never counted as residual identifying values. */
export const VEIL_WRITTEN = new Set(Object.values(DUMMY_TEXT));
