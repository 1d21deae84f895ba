/**
 * Error messages as a new user meets them (issue 13, item 10): each says what was found and
 * what was expected, names the field and the line, and `veil policy check` lists every problem.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPolicyFile, loadPolicy, parsePolicy, type PolicyIssue } from '../../src/policy/load.js';
import { tightenPrivacy } from '../../src/policy/tighten.js';
import { readCsv } from '../../src/tabular/csv/read.js';
import { readArxHierarchy } from '../../src/tabular/hierarchy/arx.js';
import { adultDir, repoRoot, runCli, tempDir } from '../helpers.js';

const where = { file: 'p.yaml', baseDir: '.' };
const minimal = 'name: p\nversion: 1\ntabular:\n  quasiIdentifiers:\n    - { column: age, type: numeric }\n  privacy:\n    k: 2\n';

function issuesOf(text: string): PolicyIssue[] {
  const result = parsePolicy(text, where);
  if (result.success) throw new Error('the policy was accepted');
  return result.issues;
}

describe('policy messages say what was found', () => {
  it('k: "10" and k: ten: expected a number, got the string', () => {
    expect(issuesOf(minimal.replace('k: 2', 'k: "10"'))).toEqual([{ file: 'p.yaml', line: 7, field: 'tabular.privacy.k', message: 'expected a number, got the string "10"' }]);
    expect(issuesOf(minimal.replace('k: 2', 'k: ten'))[0].message).toBe('expected a number, got the string "ten"');
    expect(issuesOf(minimal.replace('k: 2', 'k:'))[0].message).toBe('expected a number, got an empty value');
  });

  it('a quoted value is capped in length', () => {
    const message = issuesOf(minimal.replace('k: 2', `k: ${'x'.repeat(5000)}`))[0].message;
    expect(message.length).toBeLessThan(100);
    expect(message).toMatch(/^expected a number, got the string "x{40}…"$/);
  });

  it('l: 2 hints at { variant, l }', () => {
    const issue = issuesOf(minimal.replace('k: 2', 'k: 2\n    l: 2'))[0];
    expect(issue).toMatchObject({ line: 8, field: 'tabular.privacy.l', message: 'expected { variant: distinct, l: 2 }, got the number 2' });
  });

  it('a missing version is reported as a missing version, not as a hierarchy error', () => {
    const issues = issuesOf(minimal.replace('version: 1\n', ''));
    expect(issues).toEqual([{ file: 'p.yaml', line: 1, field: 'version', message: 'required field is missing (expected a number or a string)' }]);
    // the hierarchy wording stays where a hierarchy is meant
    const hierarchy = issuesOf(minimal.replace('{ column: age, type: numeric }', '{ column: age, hierarchy: 5 }'))[0];
    expect(hierarchy).toMatchObject({ field: 'tabular.quasiIdentifiers.0.hierarchy', message: expect.stringMatching(/^expected a hierarchy file path or one of .*, got the number 5$/) });
  });

  it('a typo in a section name gives every problem, each on its own line', () => {
    const issues = issuesOf(minimal.replace('  privacy:', '  privacyy:').replace('name: p', 'name: p\nvesion: 2'));
    expect(issues.map((i) => `${i.line} ${i.field}: ${i.message}`).sort()).toEqual([
      '2 vesion: unknown field "vesion"',
      '5 tabular.privacy: required field is missing (expected a mapping)',
      '8 tabular.privacyy: unknown field "privacyy"',
    ]);
  });

  it('the first-problem message of other commands says how many more and where to see them', async () => {
    const dir = tempDir();
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, minimal.replace('  privacy:', '  privacyy:'));
    await expect(loadPolicy(file)).rejects.toThrow(`(and 1 more problem: \`veil policy check ${file}\` lists them all)`);
  });
});

describe('unreadable files say why, and the policy line that names them', () => {
  const dir = tempDir();
  const policyWith = (hierarchy: string) => minimal.replace('{ column: age, type: numeric }', `{ column: age, type: numeric, hierarchy: ${hierarchy} }`);

  it('a hierarchy file that is not found, is a folder, or is not permitted', async () => {
    mkdirSync(join(dir, 'folder.csv'));
    writeFileSync(join(dir, 'locked.csv'), readFileSync(join(adultDir, 'adult_hierarchy_age.csv')));
    chmodSync(join(dir, 'locked.csv'), 0o000);
    const cases: [string, RegExp][] = [
      ['missing.csv', /cannot read the hierarchy file "missing.csv": not found$/],
      ['folder.csv', /cannot read the hierarchy file "folder.csv": is a folder, not a file$/],
    ];
    // root reads every file: the permission case is only checkable as another user
    if (process.getuid?.() !== 0) cases.push(['locked.csv', /cannot read the hierarchy file "locked.csv": not permitted/]);
    for (const [name, message] of cases) {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, policyWith(name));
      const checked = await checkPolicyFile(file);
      expect(checked.success).toBe(false);
      if (checked.success) continue;
      expect(checked.issues[0]).toMatchObject({ file, line: 5, field: 'tabular.quasiIdentifiers.0.hierarchy', code: 'FILE_NOT_FOUND', message: expect.stringMatching(message) });
    }
  });

  it('at run time: the hierarchy file named by the policy field, and the CSV, say why (real process)', () => {
    const policy = join(dir, 'run.yaml');
    writeFileSync(policy, policyWith('missing.csv'));
    const csv = join(dir, 'in.csv');
    writeFileSync(csv, 'age,x\n30,a\n31,b\n');
    const missingHierarchy = runCli(['tabular', 'anonymize', '--policy', policy, '--in', csv, '--out', join(dir, 'out.csv')]);
    expect(missingHierarchy.status).toBe(2);
    expect(missingHierarchy.stderr).toBe(`veil: ${policy}: tabular.quasiIdentifiers.0.hierarchy: cannot read the hierarchy file "missing.csv": not found\n`);
    const missingCsv = runCli(['tabular', 'anonymize', '--policy', policy, '--in', join(dir, 'nope.csv'), '--out', join(dir, 'out.csv')]);
    expect(missingCsv.status).toBe(2);
    expect(missingCsv.stderr).toBe(`veil: ${join(dir, 'nope.csv')}: cannot read the CSV file: not found\n`);
  });

  it('an existing hierarchy file passes', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, policyWith(join(adultDir, 'adult_hierarchy_age.csv')));
    expect((await checkPolicyFile(file)).success).toBe(true);
  });

  it('the CSV and a hierarchy read at run time say why', async () => {
    await expect(readCsv(join(dir, 'nope.csv'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: 'cannot read the CSV file: not found' });
    expect(() => readArxHierarchy(join(dir, 'nope.csv'))).toThrow('cannot read the hierarchy file: not found');
    expect(() => readArxHierarchy(dir)).toThrow('cannot read the hierarchy file: is a folder, not a file');
  });

  it('the policy file itself: not found or a folder', async () => {
    await expect(loadPolicy(join(dir, 'nope.yaml'))).rejects.toThrow('cannot read the policy file: not found');
    await expect(loadPolicy(dir)).rejects.toThrow('cannot read the policy file: is a folder, not a file');
  });
});

describe('veil policy check lists every problem', () => {
  const dir = tempDir();

  it('one line per problem as file:line: field: message, exit 2', () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, minimal.replace('  privacy:', '  privacyy:'));
    const run = runCli(['policy', 'check', file]);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n').sort()).toEqual([
      `veil: ${file}:4: tabular.privacy: required field is missing (expected a mapping)`,
      `veil: ${file}:7: tabular.privacyy: unknown field "privacyy"`,
    ]);
  });

  it('an unreadable hierarchy file is listed with its reason and line', () => {
    const file = join(dir, 'hier.yaml');
    writeFileSync(file, minimal.replace('{ column: age, type: numeric }', '{ column: age, type: numeric, hierarchy: nothere.csv }'));
    const run = runCli(['policy', 'check', file]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`veil: ${file}:5: tabular.quasiIdentifiers.0.hierarchy: cannot read the hierarchy file "nothere.csv": not found\n`);
  });

  it('the ready policies pass', () => {
    const run = runCli(['policy', 'check', join(repoRoot, 'policies/demo.yaml')]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

describe('job overrides of the wrong type', () => {
  const base = { privacy: { k: 5, suppressionLimit: 0.02 }, sensitive: [{ column: 'diagnosis', type: 'categorical' as const }] };

  it('name the field and the expected type, in words', () => {
    expect(tightenPrivacy(base, { k: 'ten' })).toEqual({ success: false, issues: [{ field: 'overrides.k', message: 'expected a number, got the string "ten"' }] });
    expect(tightenPrivacy(base, { k: 2.5 })).toEqual({ success: false, issues: [{ field: 'overrides.k', message: 'expected an integer, got the number 2.5' }] });
    expect(tightenPrivacy(base, { l: 'two' })).toEqual({ success: false, issues: [{ field: 'overrides.l', message: 'expected a number or { variant, l, c }, got the string "two"' }] });
    expect(tightenPrivacy(base, { suppressionLimit: 2 })).toEqual({ success: false, issues: [{ field: 'overrides.suppressionLimit', message: 'expected a number ≤ 1, got the number 2' }] });
    expect(tightenPrivacy(base, [5])).toEqual({ success: false, issues: [{ field: 'overrides', message: 'expected a mapping of k, l, t, suppressionLimit' }] });
  });
});
