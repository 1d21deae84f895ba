/** Hostile policy texts (issue 13, item 5), shared by the library, CLI and API tests and the bench. */
import { POLICY_LIMITS } from '../../src/policy/screen.js';

const head = 'name: p\nversion: 1\n';
const minimal = `${head}tabular:\n  quasiIdentifiers:\n    - { column: age, type: numeric }\n  privacy:\n    k: 2\n`;

/** Billion laughs: 9 levels of 9 aliases each, 9^9 strings once expanded. */
export function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (const [from, to] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g'], ['g', 'h'], ['h', 'i']]) {
    lines.push(`${to}: &${to} [${Array(9).fill(`*${from}`).join(',')}]`);
  }
  return `${head}${lines.join('\n')}\n`;
}

export const HOSTILE: Record<string, () => string> = {
  'alias bomb': aliasBomb,
  'many aliases': () => `${head}a: &a x\nb: [${Array(POLICY_LIMITS.maxAliases + 1).fill('*a').join(', ')}]\n`,
  'flow nesting, 2 MB': () => '['.repeat(1_000_000) + ']'.repeat(1_000_000),
  'flow nesting, unclosed': () => `${head}x: ${'['.repeat(5000)}`,
  'flow mappings nested': () => `${head}x: ${'{a: '.repeat(2000)}1${'}'.repeat(2000)}`,
  'brackets hidden in quotes': () => `${head}x: ${'["]",'.repeat(3000)}`,
  'block sequences nested': () => `${head}x:\n${'- '.repeat(3000)}x\n`,
  'block mappings nested': () => head + Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
  'a list of 50,000 values': () => `${head}x: [${'a,'.repeat(50_000)}]\n`,
  oversize: () => `${minimal}description: "${'x'.repeat(POLICY_LIMITS.maxBytes)}"\n`,
};

