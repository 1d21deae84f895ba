import type { z } from 'zod';

/**
 * Validation issues in words a new user acts on: the field's expected type and what was
 * found there. Policy values are the committee's text, not data, so quoting them is fine;
 * they are capped in length.
 */

/** What a user wrote where a mapping was expected, as the mapping they probably meant. */
const MAPPING_HINTS: Readonly<Record<string, (written: string) => string>> = {
  l: (written) => `{ variant: distinct, l: ${written} }`,
  t: (written) => `{ t: ${written} }`,
};

/** What a union field takes, where the member types alone would not say it. */
const UNION_EXPECTED: Readonly<Record<string, string>> = {
  hierarchy: 'a hierarchy file path or one of {intervals}, {masking}, {dates}, {tree}',
  l: 'a number or { variant, l, c }',
  t: 'a number or { t }',
};

export function describeIssue(issue: z.core.$ZodIssue, path: readonly (string | number)[]): string {
  const input: unknown = issue.input;
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return `required field is missing (expected ${article(issue.expected)})`;
      const hint = MAPPING_HINTS[String(path[path.length - 1])];
      if (issue.expected === 'object' && hint && typeof input === 'number') return `expected ${hint(String(input))}, got ${found(input)}`;
      return `expected ${article(issue.expected)}, got ${found(input)}`;
    }
    case 'too_small': {
      const min = String(issue.minimum);
      if (issue.origin === 'array') return `expected at least ${min} entr${min === '1' ? 'y' : 'ies'}`;
      if (issue.origin === 'string') return 'expected a non-empty text';
      return `expected a number ${issue.inclusive === false ? '>' : '≥'} ${min}, got ${found(input)}`;
    }
    case 'too_big': {
      if (issue.origin === 'array') return `expected at most ${String(issue.maximum)} entries`;
      if (issue.origin === 'string') return `expected at most ${String(issue.maximum)} characters`;
      return `expected a number ${issue.inclusive === false ? '<' : '≤'} ${String(issue.maximum)}, got ${found(input)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${found(input)}`;
    case 'invalid_union': {
      const expected = UNION_EXPECTED[String(path[path.length - 1])] ?? unionExpected(issue);
      return input === undefined ? `required field is missing (expected ${expected})` : `expected ${expected}, got ${found(input)}`;
    }
    case 'invalid_format':
      return `expected ${issue.format}`;
    default:
      return issue.message;
  }
}

/** "a number or a text" from the members of a union of plain types. */
function unionExpected(issue: z.core.$ZodIssueInvalidUnion): string {
  const kinds = new Set<string>();
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first?.code === 'invalid_type') kinds.add(article(first.expected));
  }
  return kinds.size > 0 ? [...kinds].join(' or ') : 'another value';
}

/** A policy value as the user wrote it (not PHI: the policy is the committee's text), capped. */
function found(value: unknown): string {
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return `${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

export function quoted(text: string): string {
  const capped = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(capped);
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'object') return 'a mapping';
  if (expected === 'array') return 'a list';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
