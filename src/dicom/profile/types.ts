import type { DicomOption } from '../../policy/sections/dicom.js';

/** Action codes of PS3.15 E.1.1 and the combined codes of Table E.1-1. */
export type ProfileCode = 'D' | 'Z' | 'X' | 'K' | 'C' | 'U' | 'X/Z' | 'X/D' | 'X/Z/D' | 'Z/D' | 'X/Z/U*';

/** A single action after combined codes are resolved. */
export type ProfileAction = 'D' | 'Z' | 'X' | 'K' | 'C' | 'U';

/** [tag pattern, keyword, Basic Profile code, codes of the options that change it]. */
export type ProfileRow = readonly [string, string, ProfileCode, Partial<Record<DicomOption, ProfileCode>>?];
