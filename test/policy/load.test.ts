import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load.js';
import { policyJsonSchema } from '../../src/policy/jsonSchema.js';
import { repoRoot } from '../helpers.js';

const where = { file: 'p.yaml', baseDir: '.' };
const minimal = 'name: p\nversion: 1\ntabular:\n  quasiIdentifiers:\n    - { column: age, type: numeric }\n  privacy:\n    k: 2\n';

describe('policy loading', () => {
  it('parses a minimal policy with defaults filled in', () => {
    const result = parsePolicy(minimal, where);
    expect(result.success).toBe(true);
    if (!result.success) return;
    expect(result.policy.tabular?.privacy.suppressionLimit).toBe(0);
    expect(result.policy.tabular?.missingValues).toEqual(['', '?', 'NA']);
    expect(result.policy.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports YAML syntax errors with a line', () => {
    const result = parsePolicy('name: p\nversion: [1\n', where);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues[0].line).toBeGreaterThanOrEqual(2);
    expect(result.issues[0].message).toMatch(/invalid YAML/);
  });

  it('reports unknown fields, wrong types and out-of-range numbers with path and line', () => {
    const result = parsePolicy(minimal.replace('    k: 2', '    k: 0\n    l: { l: 1 }\n    foo: true'), where);
    expect(result.success).toBe(false);
    if (result.success) return;
    const byField = new Map(result.issues.map((i) => [i.field, i]));
    expect(byField.get('tabular.privacy.k')).toMatchObject({ line: 7, message: 'expected a number ≥ 1, got the number 0' });
    expect(byField.get('tabular.privacy.l.l')).toMatchObject({ line: 8, message: 'expected a number ≥ 2, got the number 1' });
    expect(byField.get('tabular.privacy.foo')).toMatchObject({ line: 9, message: 'unknown field "foo"' });
  });

  it('rejects a column with two roles, and l without a sensitive column', () => {
    const text = minimal.replace('  privacy:', '  identifiers:\n    - { column: age, action: remove }\n  privacy:').replace('    k: 2', '    k: 2\n    l: { l: 2 }');
    const result = parsePolicy(text, where);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues.map((i) => i.message).join(' | ')).toMatch(/already has a role.*\| l-diversity needs at least one column/);
  });

  it('policies/schema.json is generated from the schema in use (run `npm run schema`)', () => {
    const shipped = JSON.parse(readFileSync(join(repoRoot, 'policies/schema.json'), 'utf8'));
    expect(shipped).toEqual(policyJsonSchema());
  });
});
