import { z } from 'zod';
import { policySchema } from './schema.js';

/**
 * The policy's JSON Schema, generated from the same zod schema that validates policies, so
 * editors (yaml-language-server) complete and check exactly what Veil accepts.
 */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://veil.invalid/policy.schema.json', title: 'Veil privacy policy' };
}
