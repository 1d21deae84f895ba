import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { diffLines } from '../../console/src/lib/diff.js';
import { approvedPrivacy, tightenOverrides, type TightenForm } from '../../console/src/lib/tighten.js';
import { keysAt, yamlPathAt } from '../../console/src/lib/yamlPath.js';
import { parsePolicy, tightenPrivacy } from '../../src/policy/index.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

describe('line diff (LCS)', () => {
  it('keeps common lines and marks what was removed and added, with both line numbers', () => {
    const diff = diffLines('a\nb\nc\nd\n', 'a\nc\nx\nd\n');
    expect(diff.map((line) => `${line.kind[0]}${line.text}`)).toEqual(['sa', 'rb', 'sc', 'ax', 'sd']);
    expect(diff.find((line) => line.text === 'x')).toEqual({ kind: 'added', text: 'x', newLine: 3 });
    expect(diff.find((line) => line.text === 'd')).toEqual({ kind: 'same', text: 'd', oldLine: 4, newLine: 4 });
  });

  it('finds the longest common subsequence, not just the common head and tail', () => {
    const diff = diffLines(['k: 5', 'l: 2', 'x', 'y', 'z'].join('\n'), ['k: 10', 'x', 'q', 'y', 'z', 'w'].join('\n'));
    expect(diff.filter((line) => line.kind === 'same').map((line) => line.text)).toEqual(['x', 'y', 'z']);
    expect(diff.filter((line) => line.kind !== 'same')).toHaveLength(5);
  });

  it('handles empty texts', () => {
    expect(diffLines('', '')).toEqual([]);
    expect(diffLines('', 'a')).toEqual([{ kind: 'added', text: 'a', newLine: 1 }]);
  });
});

describe('tightening in the page', () => {
  const demo = readFileSync(join(REPO_ROOT, 'policies/demo.yaml'), 'utf8');
  const base = approvedPrivacy(parse(demo));

  it('reads the approved privacy model of the demo policy', () => {
    expect(base).toEqual({ k: 5, l: { variant: 'distinct', l: 2 }, t: undefined, suppressionLimit: 0.02, hasSensitive: true });
  });

  it('refuses exactly what the server refuses (src/policy/tighten.ts), field by field', () => {
    const parsed = parsePolicy(demo, { file: 'demo.yaml', baseDir: join(REPO_ROOT, 'policies') });
    if (!parsed.success || !parsed.policy.tabular) throw new Error('the demo policy does not parse');
    const tabular = parsed.policy.tabular;
    const forms: TightenForm[] = [];
    for (const k of [undefined, 1, 5, 10]) {
      for (const suppressionLimit of [undefined, 0, 0.02, 0.5]) {
        for (const l of [undefined, 2, 3]) {
          for (const lVariant of [undefined, 'distinct', 'entropy', 'recursive'] as const) {
            for (const t of [undefined, 0.2]) forms.push({ k, suppressionLimit, l, lVariant, t });
          }
        }
      }
    }
    let refused = 0;
    for (const form of forms) {
      const page = tightenOverrides(base!, form);
      const server = tightenPrivacy(tabular, page.ok ? page.overrides : serverOverrides(form));
      expect(page.ok, JSON.stringify(form)).toBe(server.success);
      if (!page.ok && !server.success) {
        refused++;
        expect(page.issues.map((issue) => issue.field).sort(), JSON.stringify(form)).toEqual(server.issues.map((issue) => issue.field).sort());
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});

/** What the form would send if it did not check: the raw fields. */
function serverOverrides(form: TightenForm): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (form.k !== undefined) out.k = form.k;
  if (form.suppressionLimit !== undefined) out.suppressionLimit = form.suppressionLimit;
  if (form.l !== undefined || form.lVariant !== undefined) out.l = { l: form.l ?? 2, ...(form.lVariant ? { variant: form.lVariant } : {}) };
  if (form.t !== undefined) out.t = form.t;
  return out;
}

describe('completion: the YAML path at the cursor and the schema keys there', () => {
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'policies/schema.json'), 'utf8')) as unknown;
  const at = (text: string) => yamlPathAt(text, text.length);

  it('reads the path from indentation, with [] for list items', () => {
    expect(at('name: x\n')).toEqual([]);
    expect(at('tabular:\n  privacy:\n    ')).toEqual(['tabular', 'privacy']);
    expect(at('tabular:\n  privacy:\n    k: 5\n    ')).toEqual(['tabular', 'privacy']);
    expect(at('tabular:\n  quasiIdentifiers:\n    - column: age\n      ')).toEqual(['tabular', 'quasiIdentifiers', '[]']);
    expect(at('tabular:\n  quasiIdentifiers:\n    - ')).toEqual(['tabular', 'quasiIdentifiers', '[]']);
    expect(at('tabular:\n  # a comment\n\n  privacy:\n    l:\n      ')).toEqual(['tabular', 'privacy', 'l']);
    expect(at('tabular:\n  privacy:\n    k: 5\n  ')).toEqual(['tabular']);
    // at the start of an indented line: that line's key
    const text = 'tabular:\n  privacy:\n    k: 5\n';
    expect(yamlPathAt(text, text.indexOf('    k'))).toEqual(['tabular', 'privacy']);
    const list = 'tabular:\n  sensitive:\n    - column: x\n';
    expect(yamlPathAt(list, list.indexOf('    -'))).toEqual(['tabular', 'sensitive', '[]']);
  });

  it('offers the keys the policy schema allows there', () => {
    expect(keysAt(schema, []).map((s) => s.key)).toEqual(expect.arrayContaining(['name', 'version', 'tabular', 'dicom', 'pixels']));
    expect(keysAt(schema, ['tabular', 'privacy']).map((s) => s.key)).toEqual(expect.arrayContaining(['k', 'l', 't', 'suppressionLimit']));
    expect(keysAt(schema, ['tabular', 'quasiIdentifiers', '[]']).map((s) => s.key)).toEqual(expect.arrayContaining(['column', 'type', 'hierarchy']));
    expect(keysAt(schema, ['tabular', 'privacy', 'l']).map((s) => s.key)).toEqual(expect.arrayContaining(['variant', 'l', 'c']));
    expect(keysAt(schema, ['nonsense'])).toEqual([]);
    expect(keysAt(schema, ['tabular', 'privacy']).find((s) => s.key === 'suppressionLimit')?.description).toMatch(/suppressed/);
  });
});
