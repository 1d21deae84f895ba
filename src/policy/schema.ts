import { z } from 'zod';
import { dicomSchema } from './sections/dicom.js';
import { pixelsSchema } from './sections/pixels.js';
import { tabularSchema } from './sections/tabular.js';

/** The whole policy file. Unknown fields anywhere are errors (strict objects). */
export const policySchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" or "-"'),
  version: z.union([z.number().int().min(0), z.string().min(1)]),
  description: z.string().optional(),
  tabular: tabularSchema.optional(),
  dicom: dicomSchema.optional(),
  pixels: pixelsSchema.optional(),
});

export type PolicyDocument = z.infer<typeof policySchema>;
