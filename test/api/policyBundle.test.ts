import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import { hierarchyFileRefs, isPlainRelativePath, matchHierarchyUploads } from '../../src/api/policyBundle.js';
import { parsePolicy } from '../../src/policy/load.js';

function policyWith(hierarchies: string[]): ReturnType<typeof parsePolicy> {
  const qis = hierarchies.map((h, i) => `    - { column: c${i}, hierarchy: ${h} }`);
  return parsePolicy(['name: p', 'version: 1', 'tabular:', '  quasiIdentifiers:', ...qis, '    - { column: age, type: numeric, hierarchy: { intervals: { width: 5 } } }', '  privacy: { k: 2 }', ''].join('\n'), {
    file: 'p.yaml',
    baseDir: '/',
  });
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return 'none';
}

describe('policy bundles', () => {
  it('lists only file hierarchies, with their policy fields', () => {
    const parsed = policyWith(['h/a.csv', 'b.csv']);
    if (!parsed.success) throw new Error('policy should parse');
    expect(hierarchyFileRefs(parsed.policy)).toEqual([
      { path: 'h/a.csv', field: 'tabular.quasiIdentifiers.0.hierarchy', kind: 'hierarchy' as const },
      { path: 'b.csv', field: 'tabular.quasiIdentifiers.1.hierarchy', kind: 'hierarchy' as const },
    ]);
  });

  it('accepts plain relative paths only', () => {
    for (const ok of ['a.csv', 'hierarchies/zip-3.csv', 'a_b/c.d.csv']) expect(isPlainRelativePath(ok)).toBe(true);
    for (const bad of ['../a.csv', '/abs.csv', 'a//b.csv', '.hidden', 'a/./b', 'a\\b.csv', 'C:/x.csv', '']) expect(isPlainRelativePath(bad)).toBe(false);
  });

  it('matches uploads by base name, refuses gaps and ambiguity, ignores extras', () => {
    const refs = [
      { path: 'h/a.csv', field: 'f0', kind: 'hierarchy' as const },
      { path: 'b.csv', field: 'f1', kind: 'hierarchy' as const },
    ];
    const a = { originalName: 'a.csv', bytes: Buffer.from('a') };
    const b = { originalName: 'C:\\Users\\x\\b.csv', bytes: Buffer.from('b') };
    const { files, ignoredUploads } = matchHierarchyUploads(refs, [a, b]);
    expect(ignoredUploads).toBe(0);
    expect([...files.keys()]).toEqual(['h/a.csv', 'b.csv']);
    expect(files.get('b.csv')?.toString()).toBe('b');
    expect(code(() => matchHierarchyUploads(refs, [a]))).toBe('HIERARCHY_MISSING');
    expect(matchHierarchyUploads(refs, [a, b, { originalName: 'c.csv', bytes: Buffer.from('c') }]).ignoredUploads).toBe(1);
    const fromLibrary = matchHierarchyUploads(refs, [a], (path) => (path === 'b.csv' ? Buffer.from('lib') : undefined));
    expect(fromLibrary.files.get('b.csv')?.toString()).toBe('lib');
    expect(fromLibrary.ignoredUploads).toBe(0);
    expect(code(() => matchHierarchyUploads(refs, [a, a, b]))).toBe('HIERARCHY_DUPLICATE');
    expect(code(() => matchHierarchyUploads([...refs, { path: 'x/a.csv', field: 'f2', kind: 'hierarchy' as const }], [a, b]))).toBe('HIERARCHY_AMBIGUOUS');
    expect(code(() => matchHierarchyUploads([{ path: '../a.csv', field: 'f', kind: 'hierarchy' as const }], [a]))).toBe('POLICY_INVALID');
  });
});
