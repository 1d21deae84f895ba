/**
 * Mutated CSVs through the library (anonymizeCsvFile: read, anonymize, write) and a few
 * through the CLI. Every case must end as a result or a documented refusal, with either all
 * outputs complete or none of them, and no temp file left in the output folder.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anonymizeCsvFile } from '../../src/tabular/file.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { runCli, tempDir } from '../helpers.js';
import { fuzzSeed, NO_PROBLEMS, problemsOf, mutate, outcomeOfError, Prng, Tally, type Outcome } from './fuzz.js';

const SEED = fuzzSeed(1301);
const CASES = 700;
const SECRET = Buffer.from('fuzz-secret-of-enough-length');

const POLICY = [
  'name: fuzz-csv',
  'version: 1',
  'tabular:',
  '  identifiers: [ { column: name, action: pseudonymize } ]',
  '  quasiIdentifiers:',
  '    - { column: age, type: numeric }',
  '    - { column: sex, type: categorical }',
  '    - { column: zip, type: categorical, hierarchy: { masking: { char: "*" } } }',
  '    - { column: visit, type: date }',
  '  sensitive: [ { column: diagnosis } ]',
  '  privacy: { k: 2, suppressionLimit: 0.1 }',
  '',
].join('\n');

/** The same with k counted in people (`entity`): a person's rows are placed together. */
const ENTITY_POLICY = POLICY.replace('name: fuzz-csv', 'name: fuzz-csv-people').replace('tabular:\n', 'tabular:\n  entity: name\n');

function baseCsv(rng: Prng, delimiter: string, eol: string): string {
  const rows = [['name', 'age', 'sex', 'zip', 'diagnosis', 'visit'].join(delimiter)];
  const diagnoses = ['flu', 'asthma', '"gout, acute"', 'migraine', '"a ""quoted"" one"'];
  const count = 8 + rng.int(40);
  for (let i = 0; i < count; i++) {
    rows.push([`Person ${rng.int(Math.max(2, count >> 1))}`, String(20 + rng.int(40)), rng.chance(0.5) ? 'F' : 'M', String(10000 + rng.int(90000)), rng.pick(diagnoses), `20${10 + rng.int(15)}-0${1 + rng.int(9)}-1${rng.int(10)}`].join(delimiter));
  }
  return rows.join(eol) + (rng.chance(0.8) ? eol : '');
}

/** Shapes a byte mutator rarely reaches: odd quoting, huge cells, mixed separators, wide rows. */
function structuredCsv(rng: Prng): { bytes: Buffer; how: string } {
  const base = baseCsv(rng, ',', '\n');
  const lines = base.split('\n');
  const row = 1 + rng.int(Math.max(1, lines.length - 2));
  switch (rng.int(11)) {
    case 10: {
      // odd values in typed columns: numbers and dates a parser may take for something else
      const odd = ['1e309', 'NaN', '-0', '0x1F', '99999999999999999999999', '-1', '1.5e-320', 'Infinity', '', ' ', '-', '٣٤', '2020-02-30', '0000-00-00', '2020-13-01', '9999-12-31T25:61', '1970-01-01T00:00:00Z', '12/31/2020', '+275760-09-13'];
      for (let i = 0; i < 1 + rng.int(4); i++) {
        const at = 1 + rng.int(Math.max(1, lines.length - 2));
        const cells = lines[at].split(',');
        if (cells.length >= 6) {
          cells[rng.pick([1, 5])] = rng.pick(odd);
          lines[at] = cells.join(',');
        }
      }
      return { bytes: Buffer.from(lines.join('\n')), how: 'odd numbers and dates' };
    }
    case 0:
      lines[row] = `Person x,"${'y'.repeat(50_000 + rng.int(200_000))}",F,12345,flu,2020-01-01`;
      return { bytes: Buffer.from(lines.join('\n')), how: `huge quoted cell on line ${row + 1}` };
    case 1:
      lines[row] = `Person x,"30\n\n,,\r\n",F,12345,flu,2020-01-01`;
      return { bytes: Buffer.from(lines.join('\n')), how: `quoted cell with line breaks on line ${row + 1}` };
    case 2:
      lines[row] = `Person x,"30,F,12345,flu,2020-01-01`;
      return { bytes: Buffer.from(lines.join('\n')), how: `unbalanced quote on line ${row + 1}` };
    case 3:
      lines[row] = lines[row].replace(/,/g, ';');
      return { bytes: Buffer.from(lines.join('\n')), how: `line ${row + 1} uses ;` };
    case 4:
      return { bytes: Buffer.from(baseCsv(rng, rng.pick([',', ';', '\t']), rng.pick(['\r\n', '\r', '\n']))), how: 'other delimiter and line end' };
    case 5: {
      const extra = 2000 + rng.int(3000);
      const header = `${lines[0]}${Array.from({ length: extra }, (_, i) => `,c${i}`).join('')}`;
      const body = lines.slice(1).filter((l) => l).map((l) => `${l}${',v'.repeat(extra)}`);
      return { bytes: Buffer.from([header, ...body].join('\n')), how: `${extra} extra columns` };
    }
    case 6:
      return { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from(base)]), how: 'two BOMs' };
    case 7:
      return { bytes: Buffer.from(lines[0]), how: 'header only, no line end' };
    case 8:
      lines[0] = lines[0].replace('age', rng.pick(['', 'name', 'a"ge', 'age\u0000']));
      return { bytes: Buffer.from(lines.join('\n')), how: 'bad header' };
    default:
      return { bytes: Buffer.from(lines.map((l) => `${l}${'"'.repeat(rng.int(5))}`).join('\n')), how: 'stray quotes at line ends' };
  }
}

/** Either every output is there and complete, or none is; nothing else in the folder. */
function checkOutputs(dir: string, outcome: Outcome, html: boolean): string | undefined {
  const names = readdirSync(dir).sort();
  if (outcome.kind !== 'ok') return names.length === 0 ? undefined : `left after a refusal: ${names.join(', ')}`;
  const expected = html ? ['out.csv', 'report.html', 'report.json'] : ['out.csv', 'report.json'];
  if (names.join() !== expected.join()) return `outputs ${names.join(', ')}, expected ${expected.join(', ')}`;
  const csv = readFileSync(join(dir, 'out.csv'), 'utf8');
  if (!csv.endsWith('\n')) return 'out.csv does not end with a line end';
  try {
    JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  } catch {
    return 'report.json is not complete JSON';
  }
  return undefined;
}

describe(`CSV fuzz (seed ${SEED})`, () => {
  const dir = tempDir('veil-fuzz-csv-');
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const policy = unwrap(parsePolicy(POLICY, { file: policyFile, baseDir: dir }));
  const entityPolicyFile = join(dir, 'entity-policy.yaml');
  writeFileSync(entityPolicyFile, ENTITY_POLICY);
  const entityPolicy = unwrap(parsePolicy(ENTITY_POLICY, { file: entityPolicyFile, baseDir: dir }));
  const tally = new Tally();
  afterAll(() => console.log(tally.summary(`csv seed=${SEED}`)));

  it(`${CASES} mutated CSVs through anonymizeCsvFile: results or documented refusals, nothing half-written`, async () => {
    const rng = new Prng(SEED);
    for (let n = 0; n < CASES; n++) {
      const id = `csv seed=${SEED} case=${n}`;
      const { bytes, how } = rng.chance(0.35) ? structuredCsv(rng) : mutate(rng, Buffer.from(baseCsv(rng, ',', rng.pick(['\n', '\r\n']))));
      const input = join(dir, `in-${n}.csv`);
      writeFileSync(input, bytes);
      const out = join(dir, `out-${n}`);
      mkdirSync(out);
      const html = n % 10 === 0;
      let outcome: Outcome = { kind: 'ok' };
      try {
        await anonymizeCsvFile({ policy: n % 2 === 0 ? policy : entityPolicy, input, output: join(out, 'out.csv'), reportJson: join(out, 'report.json'), reportHtml: html ? join(out, 'report.html') : undefined, secret: SECRET });
      } catch (error) {
        outcome = outcomeOfError(error);
      }
      tally.record('csv-library', `${id} (${how})`, outcome);
      const problem = checkOutputs(out, outcome, html);
      if (problem) tally.leftover(`${id} (${how})`, problem);
    }
    expect(tally.cases.get('csv-library')).toBe(CASES);
    expect(problemsOf(tally, 'csv')).toEqual(NO_PROBLEMS);
  });

  it('the CLI exits 0 or 2 on a handful of hostile CSVs, never 1, and writes nothing on a refusal', () => {
    const rng = new Prng(SEED + 1);
    const hostile = [
      Buffer.from('name,age,sex,zip,diagnosis,visit\n"Person 1,30,F,12345,flu,2020-01-01\n'),
      Buffer.concat([Buffer.from('name,age,sex,zip,diagnosis,visit\n'), Buffer.from([0xff, 0xfe, 0, 0x2c, 0xc3, 0x28, 0x0a])]),
      mutate(rng, Buffer.from(baseCsv(rng, ',', '\r'))).bytes,
    ];
    for (const [n, bytes] of hostile.entries()) {
      const id = `csv-cli seed=${SEED} case=${n}`;
      const input = join(dir, `cli-${n}.csv`);
      writeFileSync(input, bytes);
      const out = join(dir, `cli-out-${n}`);
      mkdirSync(out);
      const result = runCli(['tabular', 'anonymize', '--policy', policyFile, '--in', input, '--out', join(out, 'out.csv'), '--report', join(out, 'report.json'), '--quiet'], { VEIL_SECRET: SECRET.toString() });
      const outcome: Outcome = result.status === 0 ? { kind: 'ok' } : result.status === 2 ? { kind: 'refused', code: 'exit 2' } : { kind: 'internal', what: `exit ${result.status}: ${result.stderr.trim().split('\n')[0]}` };
      if (outcome.kind === 'internal') tally.internal.push(`${id}: ${outcome.what}`);
      else tally.cases.set('csv-cli', (tally.cases.get('csv-cli') ?? 0) + 1);
      expect(result.status, `${id}: ${result.stderr}`).not.toBe(1);
      if (result.status === 2) expect(result.stderr.trim().split('\n').length, `${id}: one line on stderr`).toBe(1);
      const problem = checkOutputs(out, outcome, false);
      expect(problem, id).toBeUndefined();
    }
  });
});
