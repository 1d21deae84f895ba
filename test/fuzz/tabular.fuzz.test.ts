/**
 * The tabular engine's other inputs: mutated ARX hierarchy files (on real Adult rows) and
 * mutated saved schemes (`--scheme-out`, re-applied with applySchemeToCsvFile). Each case is
 * a result or a documented refusal, with all outputs complete or none written.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anonymizeCsvFile, applySchemeToCsvFile } from '../../src/tabular/file.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { adultDir, tempDir } from '../helpers.js';
import { fuzzSeed, mutate, NO_PROBLEMS, outcomeOfError, Prng, problemsOf, Tally, type Outcome } from './fuzz.js';

const SEED = fuzzSeed(1307);
const HIERARCHY_CASES = 250;
const SCHEME_CASES = 300;
const SECRET = Buffer.from('fuzz-secret-of-enough-length');
const QIS = ['sex', 'age', 'race', 'marital-status'];

function adultPolicy(): string {
  const qis = QIS.map((c) => `    - { column: ${c},${c === 'age' ? ' type: numeric,' : ''} hierarchy: h/${c}.csv }`);
  return ['name: fz-adult', 'version: 1', 'tabular:', '  quasiIdentifiers:', ...qis, '  sensitive: [ { column: salary-class } ]', '  privacy: { k: 3, suppressionLimit: 0.05 }', '  otherColumns: keep', ''].join('\n');
}

/** The outputs of a run: all there and complete, or none. */
function checkOutputs(dir: string, outcome: Outcome): string | undefined {
  const names = readdirSync(dir).sort();
  if (outcome.kind !== 'ok') return names.length === 0 ? undefined : `left after a refusal: ${names.join(', ')}`;
  if (names.join() !== 'out.csv,report.json') return `outputs ${names.join(', ')}`;
  try {
    JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  } catch {
    return 'report.json is not complete JSON';
  }
  return readFileSync(join(dir, 'out.csv'), 'utf8').endsWith('\n') ? undefined : 'out.csv does not end with a line end';
}

/** A JSON value, changed at one random place (a wrong type, a removed key, a number pushed out of range). */
function mutateJson(rng: Prng, value: unknown, depth = 0): { value: unknown; how: string } {
  const replacements: unknown[] = [null, -1, 0, 1e308, 'x', '', [], {}, true, [null], { lo: 'a', hi: 'b' }];
  if ((Array.isArray(value) || (value && typeof value === 'object')) && (depth === 0 || rng.chance(0.75))) {
    const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    if (keys.length === 0) return { value: rng.pick(replacements), how: 'empty container replaced' };
    const key = rng.pick(keys);
    const copy: Record<string | number, unknown> = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
    if (rng.chance(0.15)) {
      if (Array.isArray(copy)) (copy as unknown as unknown[]).splice(Number(key), 1);
      else delete copy[key];
      return { value: copy, how: `${key} removed` };
    }
    const inner = mutateJson(rng, copy[key], depth + 1);
    copy[key] = inner.value;
    return { value: copy, how: `${key}.${inner.how}` };
  }
  if (typeof value === 'number' && rng.chance(0.5)) {
    const next = rng.pick([value + 1, value - 1, -value, value * 1000, 0.5, Number.MAX_SAFE_INTEGER]);
    return { value: next, how: `number ${value} → ${next}` };
  }
  const next = rng.pick(replacements);
  return { value: next, how: `set to ${JSON.stringify(next)}` };
}

describe(`tabular fuzz (seed ${SEED})`, () => {
  const dir = tempDir('veil-fuzz-tabular-');
  const tally = new Tally();
  afterAll(() => console.log(tally.summary(`tabular seed=${SEED}`)));

  const adultRows = readFileSync(join(adultDir, 'adult.csv'), 'utf8').split('\n').slice(0, 600).join('\n') + '\n';
  const adultCsv = join(dir, 'adult-600.csv');
  writeFileSync(adultCsv, adultRows);

  it(`${HIERARCHY_CASES} mutated ARX hierarchy files on Adult rows: results or documented refusals`, async () => {
    const rng = new Prng(SEED);
    for (let n = 0; n < HIERARCHY_CASES; n++) {
      const base = join(dir, `h-${n}`);
      mkdirSync(join(base, 'h'), { recursive: true });
      for (const column of QIS) copyFileSync(join(adultDir, `adult_hierarchy_${column}.csv`), join(base, 'h', `${column}.csv`));
      const column = rng.pick(QIS);
      const target = join(base, 'h', `${column}.csv`);
      const { bytes, how } = mutate(rng, readFileSync(target));
      writeFileSync(target, bytes);
      const policyFile = join(base, 'policy.yaml');
      writeFileSync(policyFile, adultPolicy());
      const policy = unwrap(parsePolicy(adultPolicy(), { file: policyFile, baseDir: base }));
      const out = join(base, 'out');
      mkdirSync(out);
      const id = `hierarchy seed=${SEED} case=${n} (${column}: ${how})`;
      let outcome: Outcome = { kind: 'ok' };
      try {
        await anonymizeCsvFile({ policy, input: adultCsv, output: join(out, 'out.csv'), reportJson: join(out, 'report.json'), secret: SECRET });
      } catch (error) {
        outcome = outcomeOfError(error);
      }
      tally.record('hierarchy', id, outcome);
      const problem = checkOutputs(out, outcome);
      if (problem) tally.leftover(id, problem);
    }
    expect(problemsOf(tally, 'hierarchy')).toEqual(NO_PROBLEMS);
  });

  it(`${SCHEME_CASES} mutated saved schemes through applySchemeToCsvFile: results or SCHEME_INVALID-like refusals`, async () => {
    const rng = new Prng(SEED + 1);
    const policyText = [
      'name: fz-scheme',
      'version: 1',
      'tabular:',
      '  quasiIdentifiers:',
      '    - { column: age, type: numeric }',
      '    - { column: sex, type: categorical }',
      '    - { column: zip, type: categorical, hierarchy: { masking: { char: "*" } } }',
      '  sensitive: [ { column: diagnosis } ]',
      '  privacy: { k: 3, suppressionLimit: 0.1 }',
      '',
    ].join('\n');
    const policyFile = join(dir, 'scheme-policy.yaml');
    writeFileSync(policyFile, policyText);
    const policy = unwrap(parsePolicy(policyText, { file: policyFile, baseDir: dir }));
    const lines = ['age,sex,zip,diagnosis'];
    for (let i = 0; i < 120; i++) lines.push(`${20 + ((i * 7) % 50)},${i % 3 === 0 ? 'F' : 'M'},${10000 + ((i * 131) % 400)},${['flu', 'gout', 'asthma'][i % 3]}`);
    const csv = join(dir, 'scheme-in.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const schemeFile = join(dir, 'scheme.json');
    await anonymizeCsvFile({ policy, input: csv, output: join(dir, 'scheme-first.csv'), schemeOut: schemeFile, secret: SECRET });
    const scheme = JSON.parse(readFileSync(schemeFile, 'utf8')) as unknown;

    for (let n = 0; n < SCHEME_CASES; n++) {
      const { text, how } = rng.chance(0.7)
        ? (() => {
            const changed = mutateJson(rng, scheme);
            return { text: JSON.stringify(changed.value), how: changed.how };
          })()
        : (() => {
            const changed = mutate(rng, readFileSync(schemeFile));
            return { text: changed.bytes.toString('utf8'), how: changed.how };
          })();
      const file = join(dir, `scheme-${n}.json`);
      writeFileSync(file, text);
      const out = join(dir, `scheme-out-${n}`);
      mkdirSync(out);
      const id = `scheme seed=${SEED} case=${n} (${how.slice(0, 120)})`;
      let outcome: Outcome = { kind: 'ok' };
      try {
        await applySchemeToCsvFile({ policy, scheme: file, input: csv, output: join(out, 'out.csv'), reportJson: join(out, 'report.json'), secret: SECRET });
      } catch (error) {
        outcome = outcomeOfError(error);
      }
      tally.record('scheme', id, outcome);
      const problem = checkOutputs(out, outcome);
      if (problem) tally.leftover(id, problem);
    }
    expect(problemsOf(tally, 'scheme')).toEqual(NO_PROBLEMS);
  });
});
