/**
 * Hostile policy texts (issue 13, item 5): alias bombs, deep nesting in flow and block style,
 * oversize texts. Each is POLICY_INVALID with one line naming the limit — through parsePolicy,
 * the worker-thread parse the API uses, and `veil policy check` as a real process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy, type PolicyResult } from '../../src/policy/load.js';
import { parsePolicyOffThread } from '../../src/policy/offThread.js';
import { POLICY_LIMITS } from '../../src/policy/screen.js';
import { aliasBomb, HOSTILE } from './hostile.js';
import { runCli, tempDir } from '../helpers.js';

const where = { file: 'p.yaml', baseDir: '.' };
const head = 'name: p\nversion: 1\n';
const minimal = `${head}tabular:\n  quasiIdentifiers:\n    - { column: age, type: numeric }\n  privacy:\n    k: 2\n`;

function refusal(result: PolicyResult): string {
  if (result.success) throw new Error('the hostile text was accepted');
  return result.issues[0].message;
}

/** A policy as large as a real one gets: ICD-10-like codes (22 chapters, 2,200 categories, 11,000 codes) as an inline tree. */
function largeTreePolicy(): string {
  const lines = [head, 'tabular:', '  quasiIdentifiers: [ { column: age, type: numeric } ]', '  sensitive:', '    - column: diagnosis', '      hierarchy:', '        tree:', "          '*':"];
  for (let chapter = 0; chapter < 22; chapter++) {
    const letter = String.fromCharCode(65 + chapter);
    lines.push(`            ${letter}:`);
    for (let block = 0; block < 10; block++) {
      lines.push(`              ${letter}${block}0-${letter}${block}9:`);
      for (let category = 0; category < 10; category++) {
        const code = `${letter}${block}${category}`;
        lines.push(`                ${code}: [${[0, 1, 2, 3, 4].map((d) => `${code}.${d}`).join(', ')}]`);
      }
    }
  }
  lines.push('  privacy: { k: 5, t: { t: 0.2 } }');
  return `${lines.join('\n')}\n`;
}

describe('hostile policy texts are refused with a limit, never a crash', () => {
  for (const [name, make] of Object.entries(HOSTILE)) {
    it(`${name}: POLICY_INVALID naming the limit`, () => {
      expect(refusal(parsePolicy(make(), where))).toMatch(/aliases|nested more than 64 levels|at most 256 KiB|more than 40000 values/);
    });
  }

  it('the alias bomb passes the alias count and is stopped at expansion', () => {
    expect(refusal(parsePolicy(aliasBomb(), where))).toMatch(/^invalid YAML: aliases expand too far/);
  });

  it('the messages name the limits', () => {
    expect(refusal(parsePolicy(HOSTILE['flow nesting, 2 MB'](), where))).toBe('the policy is 1954 KiB; at most 256 KiB are accepted');
    expect(parsePolicy(HOSTILE['block sequences nested'](), where)).toMatchObject({ success: false, issues: [{ line: 4, message: 'nested more than 64 levels deep' }] });
    expect(refusal(parsePolicy(HOSTILE['many aliases'](), where))).toBe('more than 100 aliases (*name); write the values out');
  });

  it('a real-sized policy is accepted: an inline tree of 11,000 codes, and nesting of 40 levels', () => {
    const text = largeTreePolicy();
    expect(Buffer.byteLength(text)).toBeGreaterThan(100 * 1024);
    expect(Buffer.byteLength(text)).toBeLessThan(POLICY_LIMITS.maxBytes);
    expect(parsePolicy(text, where).success).toBe(true);
    const nested = `${minimal.replace('version: 1', `version: 1\ndescription: ${'['.repeat(40)}${']'.repeat(40)}`)}`;
    expect(refusal(parsePolicy(nested, where))).toBe('expected a string, got a list');
  });

  it('a few aliases within the limits still work', () => {
    const text = `${head}tabular:\n  quasiIdentifiers:\n    - &qi { column: age, type: numeric }\n  sensitive: [ { column: d } ]\n  privacy: { k: 2, l: &l { l: 2 } }\n`;
    expect(parsePolicy(text, where).success).toBe(true);
  });

  it('duplicate keys are refused with their line (checked in linear time)', () => {
    expect(parsePolicy(`${minimal}name: q\n`, where)).toMatchObject({ success: false, issues: [{ line: 8, message: 'invalid YAML: the key "name" appears twice in one mapping' }] });
  });
});

describe('the worker-thread parse used by the API', () => {
  it('refuses the same texts and accepts a valid policy', async () => {
    for (const name of ['alias bomb', 'flow nesting, unclosed', 'oversize']) {
      expect(refusal(await parsePolicyOffThread(HOSTILE[name](), where))).toBe(refusal(parsePolicy(HOSTILE[name](), where)));
    }
    const ok = await parsePolicyOffThread(minimal, where);
    expect(ok).toEqual(parsePolicy(minimal, where));
  });
});

describe('veil policy check on hostile files', () => {
  const dir = tempDir();
  for (const name of ['alias bomb', 'flow nesting, 2 MB', 'block mappings nested', 'oversize']) {
    it(`${name}: exit 2 and one line`, () => {
      const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, HOSTILE[name]());
      const run = runCli(['policy', 'check', file]);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(new RegExp(`^veil: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d+)?: [^\\n]+\\n$`));
      expect(run.stderr).not.toMatch(/internal error/);
    });
  }
});
