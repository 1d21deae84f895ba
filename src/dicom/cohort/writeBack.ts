import type { DicomDataset } from '../codec/types.js';
import { encodeText, textValue } from '../codec/values.js';
import { ageString } from '../dates.js';
import { lookupKeyword } from '../../standard/dicomDictionary.js';
import { getText, setElement } from '../marking.js';

/** What the cohort step decided for one pseudonymous patient. */
export interface CohortWrite {
  suppressed: boolean;
  reason?: string;
  /** keyword → generalized cell (as in cohort.csv); only cells that differ from the original. */
  values: Record<string, string>;
}

/** Age in whole years from an AS value ("045Y", "006M", "010W", "003D"). */
export function ageYears(as: string): number | undefined {
  const match = /^(\d{3})([DWMY])$/.exec(as.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  const perYear = { D: 365.25, W: 52.18, M: 12, Y: 1 }[match[2] as 'D' | 'W' | 'M' | 'Y'];
  return Math.floor(n / perYear);
}

/**
 * Patient-level values of the cohort quasi-identifiers, from the ORIGINAL header: PatientAge
 * in years (from AS, or from birth and study dates), other keywords as their text. '' = missing.
 */
export function cohortAttributes(dataset: DicomDataset, keywords: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const keyword of keywords) {
    if (keyword === 'PatientAge') {
      const as = getText(dataset, 0x00101010);
      let years = as ? ageYears(as) : undefined;
      if (years === undefined) {
        const birth = getText(dataset, 0x00100030);
        const at = getText(dataset, 0x00080020) ?? getText(dataset, 0x00080023);
        const derived = birth && at ? ageString(birth, at) : undefined;
        years = derived ? Number(derived.slice(0, 3)) : undefined;
      }
      out[keyword] = years === undefined ? '' : String(years);
      continue;
    }
    const entry = lookupKeyword(keyword);
    const element = entry ? dataset.find((e) => e.tag === entry.tag) : undefined;
    let text = element?.value ? textValue(element.value).trim() : '';
    if (text !== '' && (entry?.vr === 'DS' || entry?.vr === 'IS')) text = String(Number(text));
    out[keyword] = text;
  }
  return out;
}

/** VRs that can hold a generalized cell such as "[40-49]" or "{F,M}" as text. */
const TEXT_HOLDING_VRS = new Set(['LO', 'SH', 'LT', 'ST', 'UT', 'UC']);
const MAX_LENGTH: Readonly<Record<string, number>> = { LO: 64, SH: 16, LT: 10240, ST: 1024, UT: 1_000_000, UC: 1_000_000 };

/**
 * Writes the generalized values back into a de-identified header. Where the VR can hold the
 * cell text it is written; where it cannot (AS, DS, IS, CS cannot hold a range or a set),
 * the element is emptied, so that the header never says more than cohort.csv.
 */
export function applyCohortValues(dataset: DicomDataset, write: CohortWrite): void {
  for (const [keyword, cell] of Object.entries(write.values)) {
    const entry = lookupKeyword(keyword);
    if (!entry) continue;
    const present = dataset.find((e) => e.tag === entry.tag);
    if (!present) continue;
    const holds = TEXT_HOLDING_VRS.has(entry.vr) && cell.length <= (MAX_LENGTH[entry.vr] ?? 0);
    setElement(dataset, { tag: entry.tag, vr: present.vr, value: holds ? encodeText(cell) : new Uint8Array(0) });
  }
}
