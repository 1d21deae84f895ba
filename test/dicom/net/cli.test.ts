import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAeTitle, parseCount, parseDestination, parsePort, parseSeconds } from '../../../src/dicom/net/index.js';
import { runCli, tempDir } from '../../helpers.js';

const env = { VEIL_SECRET: 'listen-cli-secret-0123456789' };

describe('veil dicom listen: bad options are one line and exit 2, before anything listens', () => {
  const dir = tempDir('veil-listen-cli-');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'name: t\nversion: 1\ndicom: { profile: basic }\n');

  const cases: [string, string[], RegExp][] = [
    ['no destination', [], /--forward.*give --forward AE@host:port or --out DIR/],
    ['a destination without a port', ['--forward', 'RESEARCH@127.0.0.1'], /--forward.*expected AE@host:port/],
    ['a batch size that is not a count', ['--out', join(dir, 'o'), '--batch', 'many'], /--batch.*expected a whole number/],
    ['a batch wait that is not seconds', ['--out', join(dir, 'o'), '--batch-wait', '-1'], /--batch-wait.*seconds/],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const run = runCli(['dicom', 'listen', '--policy', policy, '--spool', join(dir, 'spool'), ...args], env);
      expect(run.status).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    });
  }

  it('a policy with a cohort step is refused: the listener never sees a whole cohort', () => {
    const cohort = join(dir, 'cohort.yaml');
    writeFileSync(cohort, 'name: t\nversion: 1\ndicom:\n  profile: basic\n  cohort: { quasiIdentifiers: [PatientSex], k: 2 }\n');
    const run = runCli(['dicom', 'listen', '--policy', cohort, '--spool', join(dir, 'spool'), '--out', join(dir, 'o')], env);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/dicom\.cohort/);
  });
});

describe('listen option parsers', () => {
  it('reads AE@host:port and refuses what is not one', () => {
    expect(parseDestination('RESEARCH@10.0.0.5:104', 'VEIL')).toEqual({ aeTitle: 'RESEARCH', host: '10.0.0.5', port: 104, callingAeTitle: 'VEIL' });
    expect(parseDestination('R@[::1]:11112', 'VEIL').host).toBe('::1');
    for (const bad of ['RESEARCH', 'R@h', 'R@h:0', 'R@h:70000', '@h:104', 'A_TITLE_LONGER_THAN_16@h:104', 'A\\B@h:104']) expect(() => parseDestination(bad, 'VEIL'), bad).toThrow(/expected AE@host:port|AE title/);
  });
  it('refuses AE titles, ports and idle times out of range', () => {
    expect(parseAeTitle(' VEIL ', '--ae-title')).toBe('VEIL');
    expect(() => parseAeTitle('A_TITLE_LONGER_THAN_16', '--ae-title')).toThrow(/1 to 16/);
    expect(parsePort('11112')).toBe(11112);
    expect(() => parsePort('70000')).toThrow(/TCP port/);
    expect(() => parsePort('-1')).toThrow(/TCP port/);
    expect(parseSeconds('0.5', '--study-idle')).toBe(0.5);
    expect(() => parseSeconds('soon', '--study-idle')).toThrow(/seconds/);
    expect(parseCount('0', '--batch')).toBe(0);
    expect(parseCount(' 50 ', '--batch')).toBe(50);
    for (const bad of ['-1', '2.5', 'many', '1000000']) expect(() => parseCount(bad, '--batch'), bad).toThrow(/whole number/);
  });
});
