import { SeededRandom } from './random.js';

/**
 * A synthetic patient cohort for the demo and tests: every value is invented from a seed, so it
 * holds no real person's data, yet it has the shape of a hospital export (direct identifiers,
 * quasi-identifiers with skew and outliers, sensitive diagnoses and lengths of stay).
 */
export const COHORT_COLUMNS = ['patient_id', 'name', 'phone', 'birth_date', 'age', 'sex', 'zip', 'admission_date', 'diagnosis', 'length_of_stay'] as const;

const FIRST = ['Ada', 'Ben', 'Cleo', 'Dara', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kai', 'Lena', 'Milo', 'Nia', 'Omar', 'Pia', 'Quin', 'Rosa', 'Sami', 'Tara', 'Uma', 'Vik', 'Wren', 'Xena', 'Yuri', 'Zoe', 'Amir', 'Bea', 'Cyrus', 'Dina'];
const LAST = ['Abbot', 'Brandt', 'Castel', 'Dunmore', 'Ekwueme', 'Farrow', 'Galli', 'Haddad', 'Ionescu', 'Jansen', 'Kowal', 'Lindqvist', 'Moreau', 'Novak', 'Okafor', 'Petrov', 'Quint', 'Rahman', 'Silva', 'Tanaka', 'Ueda', 'Varga', 'Weller', 'Yilmaz', 'Zeller'];
/** Three-digit ZIP prefixes with population weights: a few dense areas, a long rural tail. */
const ZIP3 = ['021', '024', '100', '104', '112', '191', '200', '303', '331', '372', '441', '481', '554', '606', '631', '701', '752', '802', '841', '871', '891', '941', '972', '981', '995'];
const ZIP3_WEIGHT = [12, 6, 14, 7, 10, 8, 6, 5, 6, 3, 4, 4, 3, 9, 3, 2, 5, 3, 2, 1, 2, 6, 2, 3, 0.5];

export const DIAGNOSES: Readonly<Record<string, readonly string[]>> = {
  Cardiovascular: ['Hypertension', 'Heart failure', 'Atrial fibrillation'],
  Respiratory: ['Asthma', 'COPD', 'Pneumonia'],
  Metabolic: ['Type 2 diabetes', 'Obesity'],
  Oncology: ['Breast cancer', 'Lung cancer'],
  'Mental health': ['Depression', 'Anxiety'],
};

export interface CohortOptions {
  rows: number;
  seed?: number;
  /** Ages and dates are computed as of this day (ISO). */
  asOf?: string;
}

export function generateCohort(options: CohortOptions): string[][] {
  const random = new SeededRandom(options.seed ?? 20260101);
  const asOf = new Date(`${options.asOf ?? '2026-01-01'}T00:00:00Z`);
  const groups = Object.keys(DIAGNOSES);
  const rows: string[][] = [];
  const usedIds = new Set<string>();
  for (let i = 0; i < options.rows; i++) {
    let id: string;
    do id = `MRN${String(random.int(1_000_000, 9_999_999))}`;
    while (usedIds.has(id));
    usedIds.add(id);
    const group = random.weighted(groups, [30, 22, 20, 10, 18]);
    // Older patients in cardiovascular and oncology groups, younger in mental health.
    const meanAge = group === 'Cardiovascular' || group === 'Oncology' ? 66 : group === 'Mental health' ? 38 : 52;
    const age = Math.round(Math.min(99, Math.max(18, random.normal(meanAge, 15))));
    const birth = new Date(asOf.getTime() - (age * 365.25 + random.int(0, 364)) * 86_400_000);
    const admission = new Date(asOf.getTime() - random.int(1, 720) * 86_400_000);
    const diagnosis = random.pick(DIAGNOSES[group]);
    const stay = Math.max(1, Math.round(random.normal(group === 'Oncology' || group === 'Cardiovascular' ? 7 : 4, 3)));
    rows.push([
      id,
      `${random.pick(FIRST)} ${random.pick(LAST)}`,
      `+1-${random.int(200, 989)}-555-${String(random.int(0, 9999)).padStart(4, '0')}`,
      isoDate(birth),
      String(ageOn(birth, asOf)),
      random.weighted(['F', 'M'], [52, 48]),
      `${random.weighted(ZIP3, ZIP3_WEIGHT)}${String(random.int(0, 99)).padStart(2, '0')}`,
      isoDate(admission),
      diagnosis,
      String(stay),
    ]);
  }
  return rows;
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function ageOn(birth: Date, day: Date): number {
  let age = day.getUTCFullYear() - birth.getUTCFullYear();
  if (day.getUTCMonth() < birth.getUTCMonth() || (day.getUTCMonth() === birth.getUTCMonth() && day.getUTCDate() < birth.getUTCDate())) age--;
  return age;
}

/** CSV text of a cohort (no value needs quoting). */
export function cohortCsv(rows: readonly (readonly string[])[]): string {
  return `${[COHORT_COLUMNS.join(','), ...rows.map((r) => r.join(','))].join('\n')}\n`;
}
