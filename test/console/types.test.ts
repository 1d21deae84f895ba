import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONSOLE_TYPES_PATH, consoleTypesSource, schemaToTs } from '../../scripts/write-console-types.js';

describe('console API types', () => {
  it('console/src/api/types.ts is what `npm run console:types` writes from the OpenAPI document now', () => {
    expect(readFileSync(CONSOLE_TYPES_PATH, 'utf8'), 'run `npm run console:types` and commit the file').toBe(consoleTypesSource());
  });

  it('turns the JSON Schema the document uses into TypeScript', () => {
    expect(schemaToTs({ type: ['integer', 'null'] })).toBe('number | null');
    expect(schemaToTs({ enum: ['a', 'b'] })).toBe('"a" | "b"');
    expect(schemaToTs({ $ref: '#/components/schemas/Job' })).toBe('ApiJob');
    expect(schemaToTs({ type: 'array', items: { type: 'string' } })).toBe('string[]');
    expect(schemaToTs({ type: 'object' })).toBe('Record<string, unknown>');
    expect(schemaToTs({ type: 'object', required: ['a'], properties: { a: { const: true }, 'b-c': { type: 'number' } } })).toBe('{\n  a: true;\n  "b-c"?: number;\n}');
  });
});
