/**
 * Mutated YAML policies (byte mutations of the ready policies in policies/ and structural
 * ones: wrong types, unknown keys, anchors and alias bombs, deep nesting) through the library
 * (parsePolicy, loadPolicy), through PUT /v1/policies/:name in process, and a few through
 * `veil policy check`. Every case must be a valid policy or a documented refusal.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy, parsePolicy, unwrap } from '../../src/policy/load.js';
import { repoRoot, runCli, tempDir } from '../helpers.js';
import { startTestApi, type TestApi } from '../api/helpers.js';
import { fuzzSeed, NO_PROBLEMS, problemsOf, mutate, outcomeOfError, Prng, Tally, type Outcome } from './fuzz.js';

const SEED = fuzzSeed(1302);
const LIBRARY_CASES = 700;
// each PUT parses in a fresh worker thread (about 1 s each under vitest's tsx): fewer cases here, the parser itself gets 700 above
const API_CASES = 40;

const READY = readdirSync(join(repoRoot, 'policies'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(repoRoot, 'policies', f), 'utf8'));

const WRONG_VALUES: readonly unknown[] = ['10', 'ten', -1, 0, 1.5, 1e308, null, true, [], {}, [1, [2, [3]]], { k: 2 }, 'x'.repeat(5000), '../../etc/passwd', '/abs/path.csv'];

/** Every mapping/sequence node path of a parsed document, for picking a place to break. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

/** Breaks the structure of a ready policy: a wrong type, an unknown key, a removed key. */
function structural(rng: Prng, text: string): { text: string; how: string } {
  const doc = parseDocument(text);
  const data: unknown = doc.toJS();
  const all = paths(data).filter((p) => p.length > 0);
  const path = rng.pick(all);
  const where = path.join('.');
  switch (rng.int(3)) {
    case 0: {
      const value = rng.pick(WRONG_VALUES);
      doc.setIn(path, value);
      return { text: doc.toString(), how: `${where} set to ${JSON.stringify(value).slice(0, 30)}` };
    }
    case 1: {
      // beside a key of a mapping (the root when the picked place is in a list)
      const parent = path.slice(0, -1);
      const inMapping = typeof path[path.length - 1] === 'string';
      const key = `unknownKey${rng.int(100)}`;
      doc.setIn(inMapping ? [...parent, key] : [key], 1);
      return { text: doc.toString(), how: `unknown key beside ${inMapping ? where : 'the root keys'}` };
    }
    default:
      doc.deleteIn(path);
      return { text: doc.toString(), how: `${where} removed` };
  }
}

/** Hostile YAML shapes: alias bombs, deep nesting, tags, merge keys, several documents. */
function hostile(rng: Prng): { text: string; how: string } {
  switch (rng.int(9)) {
    case 0: {
      const levels = 4 + rng.int(6);
      const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
      lines.push('name: bomb', 'version: 1', `tabular: { quasiIdentifiers: *a${levels} }`);
      return { text: lines.join('\n'), how: `alias bomb of ${levels} levels` };
    }
    case 1: {
      const depth = 50 + rng.int(3000);
      return { text: `name: deep\nversion: 1\ntabular: ${'['.repeat(depth)}${']'.repeat(depth)}\n`, how: `flow nesting ${depth} deep` };
    }
    case 2: {
      const depth = 50 + rng.int(3000);
      return { text: `name: deep\nversion: 1\ntabular: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`, how: `flow mappings ${depth} deep` };
    }
    case 3: {
      const depth = 50 + rng.int(400);
      const lines = ['name: deep', 'version: 1', 'tabular:'];
      for (let i = 0; i < depth; i++) lines.push(`${' '.repeat(2 * (i + 1))}k${i}:`);
      return { text: lines.join('\n'), how: `block nesting ${depth} deep` };
    }
    case 4:
      return { text: 'name: tags\nversion: !!binary aGVsbG8=\ntabular: !!js/function "function(){}"\n', how: 'tags' };
    case 5:
      return { text: 'base: &b { k: 2 }\nname: merge\nversion: 1\ntabular:\n  quasiIdentifiers: [ { column: age } ]\n  privacy: { <<: *b, <<: *b }\n', how: 'merge keys' };
    case 6:
      return { text: `${rng.pick(READY)}\n---\nname: second\nversion: 2\n`, how: 'two documents' };
    case 7:
      return { text: `name: big\nversion: 1\ndescription: "${'x'.repeat(100_000 + rng.int(400_000))}"\n`, how: 'huge scalar' };
    default:
      return { text: `name: dup\nname: dup\nversion: 1\n&x a: *x\n`, how: 'duplicate keys and a self alias' };
  }
}

function nextPolicy(rng: Prng): { text: string; how: string } {
  const roll = rng.next();
  if (roll < 0.2) return hostile(rng);
  if (roll < 0.55) return structural(rng, rng.pick(READY));
  const { bytes, how } = mutate(rng, Buffer.from(rng.pick(READY)));
  return { text: bytes.toString('utf8'), how };
}

describe(`policy fuzz (seed ${SEED})`, () => {
  const dir = tempDir('veil-fuzz-policy-');
  const tally = new Tally();
  let server: TestApi;
  beforeAll(async () => {
    server = await startTestApi({ runner: { concurrency: 0 }, limits: { rateLimitPerMinute: 1_000_000 }, logLevel: 'silent' });
  });
  afterAll(async () => {
    await server.close();
    console.log(tally.summary(`policy seed=${SEED}`));
  });

  it(`${LIBRARY_CASES} mutated policies through parsePolicy and loadPolicy: valid or POLICY_INVALID, never a throw`, async () => {
    const rng = new Prng(SEED);
    for (let n = 0; n < LIBRARY_CASES; n++) {
      const { text, how } = nextPolicy(rng);
      const id = `policy seed=${SEED} case=${n} (${how})`;
      let outcome: Outcome = { kind: 'ok' };
      try {
        const result = parsePolicy(text, { file: 'fuzz.yaml', baseDir: dir });
        if (!result.success) {
          if (result.issues.length === 0) outcome = { kind: 'internal', what: 'refused with no issue' };
          else unwrap(result);
        }
      } catch (error) {
        outcome = outcomeOfError(error);
      }
      tally.record('policy-parse', id, outcome);
      if (n % 7 === 0) {
        // the same text from a file, as the CLI and the worker read it
        const file = join(dir, `p-${n}.yaml`);
        writeFileSync(file, text);
        let fromFile: Outcome = { kind: 'ok' };
        try {
          await loadPolicy(file);
        } catch (error) {
          fromFile = outcomeOfError(error);
        }
        tally.record('policy-load', id, fromFile);
      }
    }
    expect(problemsOf(tally, 'policy')).toEqual(NO_PROBLEMS);
  });

  it(`${API_CASES} mutated policies through PUT /v1/policies/:name: 201 or a documented 4xx, never 500`, async () => {
    const rng = new Prng(SEED + 7);
    for (let n = 0; n < API_CASES; n++) {
      const { text, how } = nextPolicy(rng);
      const id = `policy-api seed=${SEED} case=${n} (${how})`;
      const name = parseDocument(text).get('name');
      const target = typeof name === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(name) ? name : `fuzz-${n}`;
      const res = await request(server.api.app)
        .put(`/v1/policies/${target}`)
        .set('Authorization', `Bearer ${server.keys.committee}`)
        .set('Content-Type', rng.pick(['application/yaml', 'text/yaml', 'text/plain']))
        .send(text);
      const code = (res.body as { error?: { code?: string } }).error?.code;
      const outcome: Outcome = res.status >= 500 ? { kind: 'internal', what: `HTTP ${res.status} ${code ?? ''}` } : res.status === 201 ? { kind: 'ok' } : { kind: 'refused', code: code ?? `HTTP ${res.status} without a code` };
      tally.record('policy-api', id, outcome);
      const policiesDir = join(server.dir, 'policies');
      const temps = (existsSync(policiesDir) ? readdirSync(policiesDir) : []).filter((f) => f.startsWith('.tmp-'));
      if (temps.length > 0) tally.leftover(id, `${temps.length} temp policy folder(s) left`);
    }
    expect(problemsOf(tally, 'policy-api')).toEqual(NO_PROBLEMS);
  }, 300_000);

  it('veil policy check on an alias bomb and a deep nesting: exit 2 with one line, never 1', () => {
    const rng = new Prng(SEED + 11);
    const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`), 'name: bomb', 'version: 1', 'tabular: { quasiIdentifiers: *a8 }'];
    const cases = [
      { text: bomb.join('\n'), how: 'alias bomb of 8 levels' },
      { text: `name: deep\nversion: 1\ntabular: ${'['.repeat(3000)}${']'.repeat(3000)}\n`, how: 'flow nesting 3000 deep' },
      nextPolicy(rng),
    ];
    for (const [n, { text, how }] of cases.entries()) {
      const id = `policy-cli seed=${SEED} case=${n} (${how})`;
      const file = join(dir, `cli-${n}.yaml`);
      writeFileSync(file, text);
      const result = runCli(['policy', 'check', file]);
      if (result.status === 1) tally.internal.push(`${id}: exit 1: ${result.stderr.trim().split('\n')[0]}`);
      else tally.cases.set('policy-cli', (tally.cases.get('policy-cli') ?? 0) + 1);
      expect(result.status, `${id}: ${result.stderr}`).not.toBe(1);
      expect(result.stderr, id).not.toMatch(/\n\s+at /);
    }
  });
});
