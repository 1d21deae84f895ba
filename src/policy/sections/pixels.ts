import { z } from 'zod';

/**
 * The `pixels:` section, for DICOM pixel data and plain images alike. Owned by src/image;
 * extend here as the pixel pipeline grows.
 */
export const burnedInTextSchema = z.strictObject({
  scan: z.enum(['auto', 'always', 'never']).default('auto'),
  redact: z.enum(['phi', 'all']).default('phi'),
  fill: z.enum(['black', 'min']).default('black'),
  /** What is filled: the instance's box, or its mask dilated to cover anti-aliasing. */
  region: z.enum(['box', 'mask']).default('box'),
  /** Encapsulated documents (PDF, CDA…) cannot be inspected: rejected unless kept explicitly. */
  encapsulatedDocuments: z.enum(['reject', 'keep']).default('reject'),
});

export const facesSchema = z.strictObject({
  detect: z.boolean().default(false),
  action: z.enum(['blur', 'pixelate', 'fill']).default('blur'),
});

export const pixelsSchema = z.strictObject({
  burnedInText: burnedInTextSchema.default({ scan: 'auto', redact: 'phi', fill: 'black', region: 'box', encapsulatedDocuments: 'reject' }),
  faces: facesSchema.default({ detect: false, action: 'blur' }),
});

export type PixelsPolicy = z.infer<typeof pixelsSchema>;
