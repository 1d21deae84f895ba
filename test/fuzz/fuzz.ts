/**
 * The fuzz suite's shared parts: a small seeded PRNG, byte mutators, the list of documented
 * error codes (read from the docs themselves) and a tally that prints one summary line.
 *
 * A case is identified by `<kind> seed=<seed> case=<n>`: re-running the file with the same
 * seed (VEIL_FUZZ_SEED) rebuilds exactly the same inputs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/demo/random.js';
import { isVeilError } from '../../src/errors.js';
import { ApiError } from '../../src/api/errors.js';
import { repoRoot } from '../helpers.js';

/** The seed of a fuzz file: VEIL_FUZZ_SEED when set, else the file's own fixed seed. */
export function fuzzSeed(fallback: number): number {
  const fromEnv = Number(process.env.VEIL_FUZZ_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : fallback;
}

/** The demo's seeded PRNG (mulberry32), with the picks the mutators need. */
export class Prng {
  private readonly random: SeededRandom;
  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }
  /** A float in [0, 1). */
  next(): number {
    return this.random.next();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Byte sequences that tend to break readers: quotes, separators, line ends, NUL, bad UTF-8, BOMs. */
export const NASTY: readonly Buffer[] = [
  Buffer.from('"'),
  Buffer.from('""'),
  Buffer.from(','),
  Buffer.from(';'),
  Buffer.from('\t'),
  Buffer.from('\r'),
  Buffer.from('\n'),
  Buffer.from('\r\n'),
  Buffer.from([0]),
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xff]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from('\u2028'),
  Buffer.from('-1'),
  Buffer.from('NaN'),
  Buffer.from('1e309'),
];

/** One random mutation of `input` (never grows it by more than a few KiB). */
export function mutate(rng: Prng, input: Buffer): { bytes: Buffer; how: string } {
  const at = (): number => rng.int(input.length + 1);
  switch (rng.int(7)) {
    case 0: {
      const copy = Buffer.from(input);
      const flips = 1 + rng.int(8);
      for (let i = 0; i < flips && copy.length > 0; i++) copy[rng.int(copy.length)] ^= 1 + rng.int(255);
      return { bytes: copy, how: `flip ${flips} bytes` };
    }
    case 1: {
      const cut = at();
      return { bytes: input.subarray(0, cut), how: `truncate at ${cut}` };
    }
    case 2: {
      const where = at();
      const token = rng.pick(NASTY);
      const times = 1 + rng.int(rng.chance(0.1) ? 2000 : 4);
      return { bytes: Buffer.concat([input.subarray(0, where), Buffer.concat(Array(times).fill(token) as Buffer[]), input.subarray(where)]), how: `insert ${times}× ${token.toString('hex')} at ${where}` };
    }
    case 3: {
      const from = at();
      const to = Math.min(input.length, from + 1 + rng.int(64));
      return { bytes: Buffer.concat([input.subarray(0, from), input.subarray(to)]), how: `delete ${from}..${to}` };
    }
    case 4: {
      const from = at();
      const to = Math.min(input.length, from + 1 + rng.int(256));
      const where = at();
      return { bytes: Buffer.concat([input.subarray(0, where), input.subarray(from, to), input.subarray(where)]), how: `copy ${from}..${to} to ${where}` };
    }
    case 5: {
      const where = at();
      const noise = Buffer.alloc(1 + rng.int(32));
      for (let i = 0; i < noise.length; i++) noise[i] = rng.int(256);
      return { bytes: Buffer.concat([input.subarray(0, where), noise, input.subarray(where)]), how: `insert ${noise.length} random bytes at ${where}` };
    }
    default: {
      const first = mutate(rng, input);
      const second = mutate(rng, first.bytes);
      return { bytes: second.bytes, how: `${first.how}; ${second.how}` };
    }
  }
}

/**
 * Error codes the documentation lists: every back-quoted UPPER_CASE word of docs/api.md,
 * README.md and docs/*.md (`HIERARCHY_MISSING` / `_DUPLICATE` shorthand expanded).
 */
export function documentedCodes(): Set<string> {
  const files = [join(repoRoot, 'README.md'), ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(repoRoot, 'docs', f))];
  const codes = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    let prefix = '';
    for (const match of text.matchAll(/`(_?[A-Z][A-Z0-9_]{2,})`/g)) {
      const word = match[1];
      if (word.startsWith('_')) {
        if (prefix) codes.add(`${prefix}${word}`);
      } else {
        codes.add(word);
        prefix = word.includes('_') ? word.slice(0, word.indexOf('_')) : '';
      }
    }
  }
  return codes;
}

/** What one case ended as. */
export type Outcome = { kind: 'ok' } | { kind: 'refused'; code: string } | { kind: 'internal'; what: string };

/** Classifies an error thrown by a library call: a VeilError or ApiError is a refusal. */
export function outcomeOfError(error: unknown): Outcome {
  if (isVeilError(error)) return { kind: 'refused', code: error.code };
  if (error instanceof ApiError && error.status < 500) return { kind: 'refused', code: error.code };
  const name = error instanceof Error ? `${error.name}: ${error.message.slice(0, 160)}` : String(error);
  return { kind: 'internal', what: name };
}

/** Counts outcomes of one driver and keeps reproducers of everything that is not fine. */
export class Tally {
  readonly cases = new Map<string, number>();
  readonly refusals = new Map<string, number>();
  readonly internal: string[] = [];
  readonly undocumented: string[] = [];
  readonly halfWritten: string[] = [];
  private readonly documented = documentedCodes();

  record(kind: string, id: string, outcome: Outcome): void {
    this.cases.set(kind, (this.cases.get(kind) ?? 0) + 1);
    if (outcome.kind === 'refused') {
      this.refusals.set(outcome.code, (this.refusals.get(outcome.code) ?? 0) + 1);
      if (!this.documented.has(outcome.code)) this.undocumented.push(`${id}: code ${outcome.code} is not in the docs`);
    } else if (outcome.kind === 'internal') {
      this.internal.push(`${id}: ${outcome.what}`);
    }
  }

  leftover(id: string, what: string): void {
    this.halfWritten.push(`${id}: ${what}`);
  }

  /** Reproducers of one driver (ids start with its prefix, e.g. `policy-api `). */
  of(list: 'internal' | 'undocumented' | 'halfWritten', prefix: string): string[] {
    return this[list].filter((entry) => entry.startsWith(`${prefix} `));
  }

  get total(): number {
    let n = 0;
    for (const count of this.cases.values()) n += count;
    return n;
  }

  /** One line: cases per kind, refusals by code, internal errors. */
  summary(label: string): string {
    const list = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    return `fuzz ${label}: ${this.total} cases (${list(this.cases)}); refusals: ${list(this.refusals) || 'none'}; internal errors: ${this.internal.length}; undocumented codes: ${this.undocumented.length}; half-written: ${this.halfWritten.length}`;
  }
}

/** The reproducers of one driver, for one assertion that shows all three lists at once. */
export function problemsOf(tally: Tally, prefix: string): { internal: string; undocumented: string; halfWritten: string } {
  return { internal: firstOf(tally.of('internal', prefix)), undocumented: firstOf(tally.of('undocumented', prefix)), halfWritten: firstOf(tally.of('halfWritten', prefix)) };
}

export const NO_PROBLEMS = { internal: '', undocumented: '', halfWritten: '' };

/** First few reproducers, for an assertion message. */
export function firstOf(items: string[], n = 12): string {
  return items.length === 0 ? '' : `${items.slice(0, n).join('\n')}${items.length > n ? `\n… and ${items.length - n} more` : ''}`;
}
