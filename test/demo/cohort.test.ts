import { describe, expect, it } from 'vitest';
import { COHORT_COLUMNS, generateCohort } from '../../src/demo/cohort.js';

describe('synthetic cohort', () => {
  it('is reproducible from its seed and varies with it', () => {
    expect(generateCohort({ rows: 50, seed: 1 })).toEqual(generateCohort({ rows: 50, seed: 1 }));
    expect(generateCohort({ rows: 50, seed: 1 })).not.toEqual(generateCohort({ rows: 50, seed: 2 }));
  });

  it('has consistent ages, unique IDs and plausible values', () => {
    const rows = generateCohort({ rows: 2000, seed: 3, asOf: '2026-01-01' });
    const col = (name: (typeof COHORT_COLUMNS)[number]) => COHORT_COLUMNS.indexOf(name);
    expect(new Set(rows.map((r) => r[col('patient_id')])).size).toBe(2000);
    for (const row of rows) {
      expect(row).toHaveLength(COHORT_COLUMNS.length);
      const age = Number(row[col('age')]);
      expect(age).toBeGreaterThanOrEqual(17);
      expect(age).toBeLessThanOrEqual(100);
      const birthYear = Number(row[col('birth_date')].slice(0, 4));
      expect(2026 - birthYear - age).toBeGreaterThanOrEqual(0);
      expect(2026 - birthYear - age).toBeLessThanOrEqual(2);
      expect(row[col('zip')]).toMatch(/^\d{5}$/);
    }
  });
});
