/** Regenerates policies/schema.json from the zod policy schema (`npm run schema`). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { policyJsonSchema } from '../src/policy/jsonSchema.js';

const target = fileURLToPath(new URL('../policies/schema.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
