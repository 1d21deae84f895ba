import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers.js';

/** Issue 13 item 3, the CLI side: a cell over the limit is exit 2, one line naming file, line and column. */
const dir = tempDir('veil-cell-');
const policy = join(dir, 'p.yaml');
writeFileSync(policy, 'name: cells\nversion: 1\ntabular:\n  quasiIdentifiers:\n    - { column: age, type: numeric }\n  privacy:\n    k: 2\n');
const input = join(dir, 'in.csv');
const secretText = 'z'.repeat(5000);
writeFileSync(input, `age,note\n30,a\n30,"b\nc"\n31,${secretText}\n31,d\n`);

function run(extra: string[]) {
  const out = join(dir, `out-${extra.join('')}.csv`);
  return { out, result: runCli(['tabular', 'anonymize', '--policy', policy, '--in', input, '--out', out, '--quiet', ...extra]) };
}

describe('veil tabular anonymize --max-cell-bytes', () => {
  it('refuses a cell over the limit with exit 2, one line naming the file, line and column, and writes nothing', () => {
    const { out, result } = run(['--max-cell-bytes', '4096']);
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/in\.csv:5: a cell of column "note" is larger than the limit of 4096 bytes/);
    expect(result.stderr).not.toContain('zzz');
    expect(existsSync(out)).toBe(false);
  });

  it('reads the same file under a higher limit, and refuses a limit that is not a whole number', () => {
    const { out, result } = run(['--max-cell-bytes', '6000']);
    expect(result.status).toBe(0);
    expect(existsSync(out)).toBe(true);
    const bad = run(['--max-cell-bytes', '4k']).result;
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/--max-cell-bytes: expected a whole number of bytes/);
  });
});

describe('veil serve --max-cell-bytes', () => {
  it('refuses a limit that is not a whole number from 1 to 256 MiB before starting, exit 2, one line', () => {
    for (const value of ['0', '4k', String(256 * 1024 * 1024 + 1)]) {
      const result = runCli(['serve', '--port', '0', '--data-dir', join(dir, 'serve-data'), '--max-cell-bytes', value]);
      expect(result.status).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/--max-cell-bytes expects a whole number from 1 to 268435456/);
    }
  });
});
