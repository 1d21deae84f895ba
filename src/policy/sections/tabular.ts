import { z } from 'zod';

/** How a generalization hierarchy is given: an ARX CSV file (path relative to the policy) or a builder. */
export const hierarchySpecSchema = z.union([
  z.string().min(1).describe('Path of an ARX hierarchy CSV (leaf;level1;…;*), relative to the policy file'),
  z.strictObject({
    intervals: z.strictObject({
      width: z.number().positive().describe('Width of the first level of intervals'),
      start: z.number().optional().describe('Where the first interval starts (default: the column minimum rounded down)'),
      fanout: z.number().int().min(2).default(2).describe('How many intervals of one level make one of the next'),
      levels: z.number().int().min(1).max(12).default(4),
    }),
  }),
  z.strictObject({
    masking: z.strictObject({
      char: z.string().length(1).default('*'),
      from: z.enum(['right', 'left']).default('right').describe('Which end is masked first: ZIP 02139 → 0213* → 021**'),
    }),
  }),
  z.strictObject({
    dates: z.strictObject({
      levels: z.array(z.enum(['month', 'quarter', 'year', 'decade'])).min(1).default(['month', 'year', 'decade']),
    }),
  }),
  z.strictObject({
    tree: z.record(z.string(), z.unknown()).describe('Nested mapping: node → children (a list of leaves or a further mapping)'),
  }),
]);
export type HierarchySpec = z.infer<typeof hierarchySpecSchema>;

const column = z.string().min(1).describe('Column name as written in the CSV header');

export const identifierSchema = z.strictObject({
  column,
  action: z.enum(['remove', 'pseudonymize', 'randomize', 'mask']).describe(
    'remove: empty every value; pseudonymize: keyed HMAC (VEIL_SECRET), stable across runs; randomize: a random pseudonym, new in every run (no key; unlinkable to other runs); mask: keep the last `keep` characters',
  ),
  keep: z.number().int().min(0).max(8).default(0).describe('mask: characters kept at the end'),
  optional: z.boolean().default(false).describe('Skip (and report) instead of failing when the column is absent — for generic policies'),
});

export const quasiIdentifierSchema = z.strictObject({
  column,
  type: z.enum(['numeric', 'categorical', 'date']).default('categorical'),
  hierarchy: hierarchySpecSchema.optional(),
  minLevel: z.number().int().min(0).default(0).describe('Hierarchy level every value is generalized to at least (e.g. 1 = year for dates)'),
});

export const sensitiveSchema = z.strictObject({
  column,
  type: z.enum(['categorical', 'numeric']).default('categorical'),
  hierarchy: hierarchySpecSchema.optional().describe('For hierarchical distance in t-closeness'),
});

export const lDiversitySchema = z.strictObject({
  variant: z.enum(['distinct', 'entropy', 'recursive']).default('distinct'),
  l: z.number().min(2),
  c: z.number().positive().optional().describe('recursive (c,l)-diversity: r1 < c·(r_l + … + r_m)'),
});

export const tClosenessSchema = z.strictObject({
  t: z.number().gt(0).max(1),
});

export const privacySchema = z.strictObject({
  k: z.number().int().min(1),
  l: lDiversitySchema.optional(),
  t: tClosenessSchema.optional(),
  suppressionLimit: z.number().min(0).max(1).default(0).describe('Largest share of records that may be suppressed'),
  riskThreshold: z
    .strictObject({
      prosecutorMax: z.number().gt(0).max(1).optional().describe('Highest prosecutor risk (1 / class size) allowed in the output; enforced by Mondrian like k'),
      prosecutorAvg: z.number().gt(0).max(1).optional().describe('Average prosecutor risk (classes / records) allowed; checked on the result'),
      journalistMax: z.number().gt(0).max(1).optional().describe('Highest journalist risk allowed (needs tabular.risk.samplingFraction or population); enforced by Mondrian with a sampling fraction, checked on the result with a population table'),
      journalistAvg: z.number().gt(0).max(1).optional().describe('Average journalist risk allowed; checked on the result'),
      marketer: z.number().gt(0).max(1).optional().describe('Marketer risk (expected share of records re-identified) allowed; checked on the result'),
    })
    .optional()
    .describe('Re-identification risk the output must not exceed (El Emam\'s prosecutor / journalist / marketer models)'),
});

/** A file beside the policy or below it: a policy sent to the API cannot read elsewhere. */
const besidePolicy = z
  .string()
  .min(1)
  .refine((path) => !/^[/\\]|^[A-Za-z]:|(^|[/\\])\.\.([/\\]|$)/.test(path), 'expected a path relative to the policy file, inside its folder (no leading /, no ..)');

export const riskSchema = z.strictObject({
  samplingFraction: z.number().gt(0).max(1).optional().describe('Share of the population the data are (0 < f ≤ 1): journalist and marketer risk and population uniqueness are estimated from it'),
  population: besidePolicy.optional().describe('CSV of the population the data were sampled from, one row per person, with the quasi-identifier columns; path relative to the policy file'),
  zipPopulation: besidePolicy.optional().describe('CSV with columns zip3 (or zip) and population, for the Safe Harbor rule on 3-digit ZIP codes under 20,000 people; path relative to the policy file'),
});

export const tabularSchema = z.strictObject({
  identifiers: z.array(identifierSchema).default([]),
  quasiIdentifiers: z.array(quasiIdentifierSchema).min(1),
  sensitive: z.array(sensitiveSchema).default([]),
  privacy: privacySchema,
  entity: column
    .optional()
    .describe('Column naming the person each record belongs to (e.g. patient_id when a patient has several rows): k counts people, and all of a person\'s records stay in one class'),
  otherColumns: z.enum(['keep', 'remove']).default('keep').describe('What happens to columns the policy does not name'),
  missingValues: z.array(z.string()).default(['', '?', 'NA']).describe('Cell texts read as a missing value'),
  risk: riskSchema.optional().describe('What journalist / marketer risk and population uniqueness are measured against'),
});

export type TabularPolicy = z.infer<typeof tabularSchema>;
export type QuasiIdentifierSpec = z.infer<typeof quasiIdentifierSchema>;
export type SensitiveSpec = z.infer<typeof sensitiveSchema>;
export type IdentifierSpec = z.infer<typeof identifierSchema>;
export type PrivacySpec = z.infer<typeof privacySchema>;
export type LDiversitySpec = z.infer<typeof lDiversitySchema>;
export type TClosenessSpec = z.infer<typeof tClosenessSchema>;
export type RiskSpec = z.infer<typeof riskSchema>;
