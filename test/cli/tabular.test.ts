import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers.js';

const dir = tempDir('veil-cli-');
const csv = join(dir, 'in.csv');
writeFileSync(csv, ['id,name,age,zip,disease', ...Array.from({ length: 40 }, (_, i) => `${i},Person ${i},${20 + (i % 30)},0213${i % 10},${['flu', 'cold', 'asthma'][i % 3]}`)].join('\n') + '\n');

function policy(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

const good = `name: cli-test
version: 2
tabular:
  identifiers:
    - { column: id, action: pseudonymize }
    - { column: name, action: remove }
  quasiIdentifiers:
    - { column: age, type: numeric }
    - { column: zip, type: categorical, hierarchy: { masking: {} } }
  sensitive:
    - { column: disease }
  privacy:
    k: 3
    l: { variant: distinct, l: 2 }
`;

/** Runs a failing command and checks the contract: exit 2, one line, no stack, no output. */
function expectBadInput(args: string[], out: string, pattern: RegExp) {
  const result = runCli(args, { VEIL_SECRET: 'a-test-secret-of-enough-length' });
  expect(result.status).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(dir).filter((f) => f.startsWith('.veil-tmp'))).toEqual([]);
}

const goodPolicy = policy('good.yaml', good);
const keyed = { VEIL_SECRET: 'a-test-secret-of-enough-length' };

/** Runs `veil` once, on first use: several tests read the outputs of the same run. */
function once(args: string[], env: NodeJS.ProcessEnv): () => ReturnType<typeof runCli> {
  let result: ReturnType<typeof runCli> | undefined;
  return () => (result ??= runCli(args, env));
}

/**
 * One full run with every output (CSV, pseudonym map, scheme, JSON and HTML reports) and one
 * --quiet run with the same key: the reports, the map, the scheme, --quiet and the stability of
 * pseudonyms are each asserted on these two runs' files, not on a run of their own.
 */
const full = { out: join(dir, 'f.csv'), map: join(dir, 'f.csv.map'), scheme: join(dir, 'f.csv.scheme'), report: join(dir, 'r.json'), html: join(dir, 'r.html') };
const fullRun = once(['tabular', 'anonymize', '--policy', goodPolicy, '--in', csv, '--out', full.out, '--map-out', full.map, '--scheme-out', full.scheme, '--report', full.report, '--html', full.html], keyed);
const quietOut = join(dir, 'q.csv');
const quietRun = once(['tabular', 'anonymize', '--policy', goodPolicy, '--in', csv, '--out', quietOut, '--map-out', `${quietOut}.map`, '--scheme-out', `${quietOut}.scheme`, '--quiet'], keyed);

describe('veil tabular anonymize', () => {
  it('writes the anonymized CSV, JSON and HTML reports', () => {
    const out = full.out;
    const result = fullRun();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/guarantees: k=\d+ \(required 3\), l=\d+ \(distinct, required 2\) — met/);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('id,name,age,zip,disease');
    expect(lines).toHaveLength(41);
    const report = JSON.parse(readFileSync(full.report, 'utf8'));
    expect(report.policy).toMatchObject({ name: 'cli-test', version: 2 });
    expect(report.policy.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.privacy.k.achieved).toBeGreaterThanOrEqual(3);
    const html = readFileSync(full.html, 'utf8');
    expect(html).toContain('<svg');
    // the report never carries a data value
    expect(html).not.toContain('Person 1');
    expect(JSON.stringify(report)).not.toContain('Person');
  });

  it('--quiet without a report prints nothing and writes what a full run writes; a failure is still reported', () => {
    const quiet = quietRun();
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toBe('');
    expect(fullRun().stdout).toMatch(/guarantees: .* — met/);
    for (const suffix of ['', '.map']) expect(readFileSync(`${quietOut}${suffix}`, 'utf8')).toBe(readFileSync(`${full.out}${suffix}`, 'utf8'));
    expect(JSON.parse(readFileSync(`${quietOut}.scheme`, 'utf8'))).toEqual(JSON.parse(readFileSync(full.scheme, 'utf8')));

    const tooStrict = policy('strict.yaml', good.replace('k: 3', 'k: 3\n    riskThreshold: { prosecutorAvg: 0.01 }'));
    const out = join(dir, 'strict.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', tooStrict, '--in', csv, '--out', out, '--quiet'], out, /riskThreshold\.prosecutorAvg/);
  });

  it('pseudonyms are stable across runs with the same key and change with another key', () => {
    // a.csv and b.csv: two processes with the same key (the full and the --quiet run)
    expect(fullRun().status).toBe(0);
    expect(quietRun().status).toBe(0);
    runCli(['tabular', 'anonymize', '--policy', goodPolicy, '--in', csv, '--out', join(dir, 'c.csv'), '--quiet'], { VEIL_SECRET: 'another-secret-of-enough-length' });
    const ids = (f: string) => readFileSync(f, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    const [a, b, c] = [full.out, quietOut, join(dir, 'c.csv')].map(ids);
    expect(a).toEqual(b);
    expect(a[0]).toMatch(/^P[0-9A-F]{16}$/);
    expect(a[0]).not.toBe(c[0]);
    expect(new Set(a).size).toBe(40);
  });

  it('--map-out writes original → pseudonym pairs that reproduce the output; randomize needs no key', () => {
    const { out, map } = full;
    expect(fullRun().status).toBe(0);
    const pairs = readFileSync(map, 'utf8').trim().split('\n');
    expect(pairs[0]).toBe('column,original,pseudonym');
    const pseudonymOf = new Map(pairs.slice(1).map((line) => line.split(',')).map(([column, original, pseudonym]) => [`${column}/${original}`, pseudonym]));
    expect(pseudonymOf.size).toBe(40);
    const inputIds = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    const outputIds = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    expect(inputIds.map((id) => pseudonymOf.get(`id/${id}`))).toEqual(outputIds);
    const report = JSON.parse(readFileSync(full.report, 'utf8')) as { mapping: { file: string; values: number } };
    expect(report.mapping).toEqual({ file: map, values: 40 });

    const random = policy('random.yaml', good.replace('action: pseudonymize', 'action: randomize'));
    const runRandom = (name: string) => {
      const target = join(dir, name);
      expect(runCli(['tabular', 'anonymize', '--policy', random, '--in', csv, '--out', target, '--quiet'], { VEIL_SECRET: '', VEIL_SECRET_FILE: '' }).status).toBe(0);
      return readFileSync(target, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    };
    const [once, twice] = [runRandom('r1.csv'), runRandom('r2.csv')];
    expect(once[0]).toMatch(/^R[0-9A-F]{16}$/);
    expect(new Set(once).size).toBe(40);
    expect(once.filter((id, i) => id === twice[i])).toEqual([]);

    const plain = policy('plain.yaml', good.replace('    - { column: id, action: pseudonymize }\n', ''));
    const out2 = join(dir, 'm2.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', plain, '--in', csv, '--out', out2, '--map-out', join(dir, 'map2.csv')], out2, /--map-out: the policy pseudonymizes or randomizes no column/);
    expect(existsSync(join(dir, 'map2.csv'))).toBe(false);
  });

  it('apply: a later batch in the classes of a saved scheme; a damaged scheme is one line, exit 2', () => {
    const env = keyed;
    // the scheme the full run saved, copied to a name of its own (the refusals below name it)
    expect(fullRun().status).toBe(0);
    const scheme = join(dir, 'scheme.json');
    writeFileSync(scheme, readFileSync(full.scheme));
    const first = full.out;
    const again = join(dir, 's2.csv');
    const result = runCli(['tabular', 'apply', '--policy', join(dir, 'good.yaml'), '--scheme', scheme, '--in', csv, '--out', again], env);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/scheme: \d+ of its \d+ classes hold this batch; suppressed: 0 fitting no class, 0 in classes under the policy/);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(first, 'utf8'));

    // the scheme and the policy are inputs: never written over
    expectBadInput(['tabular', 'apply', '--policy', join(dir, 'good.yaml'), '--scheme', scheme, '--in', csv, '--out', scheme], join(dir, 'never.csv'), /scheme\.json: --out: is the scheme, which this run reads/);
    expect(readFileSync(scheme, 'utf8')).toMatch(/^\{"kind":"veil-tabular-scheme"/);
    expectBadInput(['tabular', 'anonymize', '--policy', join(dir, 'good.yaml'), '--in', csv, '--out', join(dir, 'never.csv'), '--report', join(dir, 'good.yaml')], join(dir, 'never.csv'), /good\.yaml: --report: is the policy, which this run reads/);

    const damaged = join(dir, 'damaged.json');
    writeFileSync(damaged, readFileSync(scheme, 'utf8').slice(0, 200));
    const out = join(dir, 's3.csv');
    expectBadInput(['tabular', 'apply', '--policy', join(dir, 'good.yaml'), '--scheme', damaged, '--in', csv, '--out', out], out, /damaged\.json: not a JSON file: expected a scheme written by `veil tabular anonymize --scheme-out`/);
  });

  it('a QI column that is not in the CSV', () => {
    const p = policy('nocol.yaml', good.replace('column: zip', 'column: postcode'));
    const out = join(dir, 'x1.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', p, '--in', csv, '--out', out], out, /in\.csv: tabular\.quasiIdentifiers\.1\.column: column "postcode" .* not in the CSV header/);
  });

  it('a ragged CSV row', () => {
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'id,name,age,zip,disease\n1,A,30,02139,flu\n2,B,31,02139\n');
    const out = join(dir, 'x2.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', join(dir, 'good.yaml'), '--in', ragged, '--out', out], out, /ragged\.csv:3: row has 4 fields, expected 5/);
  });

  it('a non-numeric value in a numeric QI (the value is not echoed)', () => {
    const bad = join(dir, 'nonnum.csv');
    writeFileSync(bad, readFileSync(csv, 'utf8').replace('\n5,Person 5,25,', '\n5,Person 5,twenty-five,'));
    const out = join(dir, 'x3.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', join(dir, 'good.yaml'), '--in', bad, '--out', out], out, /nonnum\.csv:7: age: column "age" is numeric but has a value that is not a number$/);
  });

  it('a hierarchy missing a value', () => {
    const hierarchy = join(dir, 'zip.csv');
    writeFileSync(hierarchy, '02130;0213*;*\n02131;0213*;*\n');
    const p = policy('hier.yaml', good.replace('hierarchy: { masking: {} }', 'hierarchy: zip.csv'));
    const out = join(dir, 'x4.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', p, '--in', csv, '--out', out], out, /in\.csv: zip: 8 distinct values of column "zip" \(32 rows, first at line 4\) are missing from the hierarchy zip\.csv/);
  });

  it('k larger than the table', () => {
    const p = policy('bigk.yaml', good.replace('k: 3', 'k: 500'));
    const out = join(dir, 'x5.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', p, '--in', csv, '--out', out], out, /tabular\.privacy\.k: k = 500 is larger than the table \(40 records\)/);
  });

  it('an entity column: k counts people; a record without a person is refused with its line', () => {
    const visits = join(dir, 'visits.csv');
    // 20 people, two visits each
    writeFileSync(visits, ['pid,age,disease', ...Array.from({ length: 40 }, (_, i) => `p${i % 20},${30 + (i % 20)},${['flu', 'cold'][i % 2]}`)].join('\n') + '\n');
    const p = policy('entity.yaml', 'name: e\nversion: 1\ntabular:\n  entity: pid\n  identifiers:\n    - { column: pid, action: randomize }\n  quasiIdentifiers:\n    - { column: age, type: numeric }\n  privacy: { k: 4 }\n');
    const out = join(dir, 'e.csv');
    const result = runCli(['tabular', 'anonymize', '--policy', p, '--in', visits, '--out', out], {});
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/40 records of 20 people in \d+ classes/);
    expect(result.stdout).toMatch(/k=\d+ \(required 4, people: distinct pid\)/);
    // disease has no role in this policy: it is published as is, and the run says so
    expect(result.stdout).toMatch(/kept unchanged, with no role in the policy: disease/);
    const classes = new Map<string, Set<string>>();
    readFileSync(out, 'utf8').trim().split('\n').slice(1).forEach((line) => {
      const [person, age] = line.split(',');
      classes.set(age, (classes.get(age) ?? new Set()).add(person));
    });
    expect(Math.min(...[...classes.values()].map((people) => people.size))).toBeGreaterThanOrEqual(4);

    const gap = join(dir, 'visits-gap.csv');
    writeFileSync(gap, readFileSync(visits, 'utf8').replace('\np5,', '\n,'));
    const out2 = join(dir, 'e2.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', p, '--in', gap, '--out', out2], out2, /visits-gap\.csv:7: tabular\.entity: 1 record has no value in the entity column "pid"/);
  });

  it('an unknown policy field, with its line', () => {
    const p = policy('unknown.yaml', good.replace('    k: 3', '    k: 3\n    kk: 4'));
    const out = join(dir, 'x6.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', p, '--in', csv, '--out', out], out, /unknown\.yaml:14: tabular\.privacy\.kk: unknown field "kk"/);
  });

  it('a report path that cannot be created: refused before anything is written', () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const out = join(dir, 'x8.csv');
    expectBadInput(
      ['tabular', 'anonymize', '--policy', join(dir, 'good.yaml'), '--in', csv, '--out', out, '--report', join(dir, 'a-file', 'r.json')],
      out,
      /a-file\/r\.json: --report: cannot be created: .*a-file is a file, not a folder$/,
    );
    expectBadInput(['tabular', 'anonymize', '--policy', join(dir, 'good.yaml'), '--in', csv, '--out', out, '--html', dir], out, /--html: is a folder; expected the path of a file to write$/);
  });

  it('a folder given as the CSV, and a CSV with a header but no records', () => {
    const out = join(dir, 'x9.csv');
    expectBadInput(['tabular', 'anonymize', '--policy', join(dir, 'good.yaml'), '--in', dir, '--out', out], out, /: is a folder; expected a CSV file$/);
    const headerOnly = join(dir, 'header-only.csv');
    writeFileSync(headerOnly, 'id,name,age,zip,disease\n');
    expectBadInput(['tabular', 'anonymize', '--policy', join(dir, 'good.yaml'), '--in', headerOnly, '--out', out], out, /header-only\.csv: the table has a header but no records: nothing to anonymize$/);
  });

  it('a missing key for pseudonyms', () => {
    const out = join(dir, 'x7.csv');
    const result = runCli(['tabular', 'anonymize', '--policy', join(dir, 'good.yaml'), '--in', csv, '--out', out], { VEIL_SECRET: '' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/VEIL_SECRET/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('veil policy check', () => {
  it('accepts the shipped policies', () => {
    // one run checks the three files: a line each
    const files = ['demo.yaml', 'research-export.yaml', 'hipaa-safe-harbor.yaml'].map((file) => `policies/${file}`);
    const result = runCli(['policy', 'check', ...files]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n').map((line) => line.split(':')[0])).toEqual(files);
    for (const line of result.stdout.trim().split('\n')) expect(line).toMatch(/: ok — /);
  });

  it('names the line and field of a bad value; the good file beside it is still checked', () => {
    const p = policy('badl.yaml', good.replace('l: 2 }', 'l: 1 }'));
    const result = runCli(['policy', 'check', p, goodPolicy]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toMatch(/badl\.yaml:14: tabular\.privacy\.l\.l: expected a number ≥ 2, got the number 1$/);
    expect(result.stdout.trim().split('\n')).toEqual([expect.stringMatching(/good\.yaml: ok — cli-test v2 \(tabular\), sha256 [0-9a-f]{12}$/)]);
  });
});
