import { z } from 'zod';

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
  quasiIdentifiers: z.array(z.string().min(1)).min(1),
  k: z.number().int().min(1),
  l: z.strictObject({ variant: z.enum(['distinct', 'entropy', 'recursive']).default('distinct'), l: z.number().min(2), c: z.number().positive().optional() }).optional(),
  t: z.strictObject({ t: z.number().gt(0).max(1) }).optional(),
  sensitive: z.array(z.string().min(1)).default([]),
  suppressionLimit: z.number().min(0).max(1).default(0),
});

export const dicomSchema = z.strictObject({
  profile: z.enum(['basic']).default('basic'),
  options: z.array(dicomOptionSchema).default([]),
  cohort: dicomCohortSchema.optional(),
});

export type DicomPolicy = z.infer<typeof dicomSchema>;
export type DicomOption = z.infer<typeof dicomOptionSchema>;
