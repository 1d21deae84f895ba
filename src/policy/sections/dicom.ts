import { z } from 'zod';
import { lookupKeyword, parseTag } from '../../standard/dicomDictionary.js';

/**
 * The `dicom:` section. Owned by src/dicom; extend here (and only here) as the DICOM
 * de-identifier grows.
 */
export const dicomOptionSchema = z.enum([
  'retainSafePrivate',
  'retainUIDs',
  'retainDeviceIdentity',
  'retainInstitutionIdentity',
  'retainPatientCharacteristics',
  'retainLongitudinalFullDates',
  'retainLongitudinalModifiedDates',
  'cleanDescriptors',
  'cleanStructuredContent',
  'cleanGraphics',
]);

export const dicomCohortSchema = z.strictObject({
  quasiIdentifiers: z.array(z.string().min(1)).min(1).describe('Header keywords: PatientAge, PatientSex, PatientSize, PatientWeight, EthnicGroup, or any study-level text attribute'),
  k: z.number().int().min(1),
  l: z.strictObject({ variant: z.enum(['distinct', 'entropy', 'recursive']).default('distinct'), l: z.number().min(2), c: z.number().positive().optional() }).optional(),
  t: z.strictObject({ t: z.number().gt(0).max(1) }).optional(),
  sensitive: z.array(z.string().min(1)).default([]),
  suppressionLimit: z.number().min(0).max(1).default(0),
});

export const dicomOverrideSchema = z.strictObject({
  tag: z.string().min(1).describe('A DICOM keyword (PatientSex) or a tag "(gggg,eeee)"'),
  action: z.enum(['keep', 'remove', 'empty', 'replace', 'pseudonymize']),
  value: z.string().optional().describe('replace: the new value'),
});

export const safePrivateSchema = z.strictObject({
  group: z.string().regex(/^[0-9A-Fa-f]{4}$/, 'four hex digits').describe('Odd group, e.g. "0019"'),
  creator: z.string().min(1).describe('Private creator text, e.g. "GEMS_ACQU_01"'),
  elements: z.array(z.string().regex(/^[0-9A-Fa-f]{2}$/, 'two hex digits')).min(1).describe('Low bytes of the elements in the creator block, e.g. ["0C", "1A"]'),
});

/** AE titles: 1–16 characters of the default repertoire, no backslash, not only spaces (PS3.5 6.2). */
const aeTitleSchema = z.string().regex(/^(?! *$)[\x20-\x5b\x5d-\x7e]{1,16}$/, 'an AE title of 1 to 16 characters (no backslash)');

/** How `veil dicom listen` (and `veil serve --dicom-port`) accepts associations under this policy. */
export const dicomNetworkSchema = z.strictObject({
  allowCallingAeTitles: z
    .array(aeTitleSchema)
    .min(1)
    .optional()
    .describe('Calling AE titles the listener lets in (others are refused at association); with --allow-ae too, a caller must be in both lists'),
});

export const dicomSchema = z
  .strictObject({
    profile: z.enum(['basic']).default('basic'),
    options: z.array(dicomOptionSchema).default([]),
    overrides: z.array(dicomOverrideSchema).default([]),
    unlistedElements: z.enum(['keep', 'remove']).default('keep').describe(
      'Public elements Table E.1-1 does not list: keep (the standard) or remove those that can hold free text (AE AS DA DT TM LO LT PN SH ST UC UT UR)',
    ),
    dateShift: z
      .strictObject({ minDays: z.number().int().min(0).default(30), maxDays: z.number().int().min(0).default(365) })
      .default({ minDays: 30, maxDays: 365 })
      .describe('Modified Dates: every date of a patient moves back by a keyed number of days in this range'),
    patientIdMap: z.string().min(1).optional().describe('CSV (original,pseudonym) of pre-assigned trial IDs, relative to the policy'),
    residualScan: z.enum(['full', 'header']).default('full').describe(
      'Residual-PHI check of each output: full = every byte; header = every byte except pixel data copied unchanged from the input',
    ),
    safePrivate: z.array(safePrivateSchema).default([]).describe('Private elements kept by the retainSafePrivate option'),
    cohort: dicomCohortSchema.optional(),
    network: dicomNetworkSchema.optional().describe('The DICOM network listener: who may send'),
  })
  .superRefine((value, ctx) => {
    value.overrides.forEach((override, index) => {
      if (parseTag(override.tag) === undefined && !lookupKeyword(override.tag)) {
        ctx.addIssue({ code: 'custom', path: ['overrides', index, 'tag'], message: `unknown DICOM keyword "${override.tag}" (expected a keyword of the data dictionary or "(gggg,eeee)")` });
      }
      if (override.action === 'replace' && override.value === undefined) {
        ctx.addIssue({ code: 'custom', path: ['overrides', index, 'value'], message: 'action replace needs a value' });
      }
    });
    if (value.options.includes('retainLongitudinalFullDates') && value.options.includes('retainLongitudinalModifiedDates')) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'choose one of retainLongitudinalFullDates and retainLongitudinalModifiedDates' });
    }
    if (value.dateShift.maxDays < value.dateShift.minDays) {
      ctx.addIssue({ code: 'custom', path: ['dateShift', 'maxDays'], message: 'maxDays must be ≥ minDays' });
    }
    value.cohort?.quasiIdentifiers.forEach((keyword, index) => {
      if (!lookupKeyword(keyword)) ctx.addIssue({ code: 'custom', path: ['cohort', 'quasiIdentifiers', index], message: `unknown DICOM keyword "${keyword}"` });
    });
  });

export type DicomPolicy = z.infer<typeof dicomSchema>;
export type DicomOption = z.infer<typeof dicomOptionSchema>;
export type DicomOverride = z.infer<typeof dicomOverrideSchema>;
export type DicomCohortPolicy = z.infer<typeof dicomCohortSchema>;
