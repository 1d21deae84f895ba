import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { VeilError } from '../errors.js';
import { policySchema, type PolicyDocument } from './schema.js';

/** A validated policy plus where it came from (paths inside it are relative to `baseDir`). */
export interface Policy extends PolicyDocument {
  source: PolicySource;
}

export interface PolicySource {
  /** The file as the user named it, or '<inline>'. */
  file: string;
  baseDir: string;
  /** sha256 of the exact bytes that were approved / run. */
  sha256: string;
}

/** One problem found in a policy; the first is what the CLI prints. */
export interface PolicyIssue {
  file: string;
  line?: number;
  field: string;
  message: string;
}

export type PolicyResult = { success: true; policy: Policy } | { success: false; issues: PolicyIssue[] };

/** Reads and validates a policy file. Throws VeilError(POLICY_INVALID) naming file:line and field. */
export async function loadPolicy(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new VeilError('FILE_NOT_FOUND', 'cannot read the policy file', { file });
  }
  return unwrap(parsePolicy(text, { file, baseDir: dirname(resolve(file)) }));
}

export function unwrap(result: PolicyResult): Policy {
  if (result.success) return result.policy;
  const first = result.issues[0];
  const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : '';
  throw new VeilError('POLICY_INVALID', `${first.message}${more}`, {
    file: first.file,
    line: first.line,
    field: first.field || undefined,
  });
}

/** Parses policy YAML text; issues come back as data with file, line and field path. */
export function parsePolicy(text: string, where: { file: string; baseDir: string }): PolicyResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const file = where.file;
  if (doc.errors.length > 0) {
    return {
      success: false,
      issues: doc.errors.map((error) => ({
        file,
        line: error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line,
        field: '',
        message: `invalid YAML: ${error.code.toLowerCase().replace(/_/g, ' ')}`,
      })),
    };
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { success: false, issues: [{ file, line: 1, field: '', message: 'expected a mapping with name, version and at least one of tabular, dicom, pixels' }] };
  }
  const parsed = policySchema.safeParse(data);
  if (!parsed.success) {
    return { success: false, issues: parsed.error.issues.map((issue) => toIssue(issue, doc, lineCounter, file)) };
  }
  const value = parsed.data;
  if (!value.tabular && !value.dicom && !value.pixels) {
    return { success: false, issues: [{ file, line: 1, field: '', message: 'a policy needs at least one of the sections tabular, dicom or pixels' }] };
  }
  const sha256 = createHash('sha256').update(text).digest('hex');
  const semantic = checkTabularSemantics(value, doc, lineCounter, file);
  if (semantic.length > 0) return { success: false, issues: semantic };
  return { success: true, policy: { ...value, source: { file, baseDir: where.baseDir, sha256 } } };
}

function toIssue(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter, file: string): PolicyIssue {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  let message = describeIssue(issue);
  let nodePath = path;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    nodePath = [...path, key];
    message = `unknown field "${key}"${issue.keys.length > 1 ? ` (also ${issue.keys.slice(1).join(', ')})` : ''}`;
  }
  return { file, line: lineOf(doc, lineCounter, nodePath), field: nodePath.join('.'), message };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `required field is missing (expected ${article(issue.expected)})` : `expected ${article(issue.expected)}`;
    case 'too_small': {
      const min = String(issue.minimum);
      if (issue.origin === 'array') return `expected at least ${min} entr${min === '1' ? 'y' : 'ies'}`;
      if (issue.origin === 'string') return 'expected a non-empty text';
      return `expected a number ${issue.inclusive === false ? '>' : '≥'} ${min}`;
    }
    case 'too_big': {
      if (issue.origin === 'array') return `expected at most ${String(issue.maximum)} entries`;
      if (issue.origin === 'string') return `expected at most ${String(issue.maximum)} characters`;
      return `expected a number ${issue.inclusive === false ? '<' : '≤'} ${String(issue.maximum)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'expected a hierarchy file path or one of {intervals}, {masking}, {dates}, {tree}';
    case 'invalid_format':
      return `expected ${issue.format}`;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'object') return 'a mapping';
  if (expected === 'array') return 'a list';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** The line of the deepest node on `path` that exists in the YAML document. */
export function lineOf(doc: Document, lineCounter: LineCounter, path: readonly (string | number)[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    // a scalar key with a null value: look for the pair's key instead
    if (depth > 0 && node === null) continue;
  }
  return undefined;
}

/** Cross-field rules the schema cannot express (duplicate columns, roles, l/t without sensitive). */
function checkTabularSemantics(value: PolicyDocument, doc: Document, lineCounter: LineCounter, file: string): PolicyIssue[] {
  const tabular = value.tabular;
  if (!tabular) return [];
  const issues: PolicyIssue[] = [];
  const seen = new Map<string, string>();
  const roles: [string, { column: string }[]][] = [
    ['identifiers', tabular.identifiers],
    ['quasiIdentifiers', tabular.quasiIdentifiers],
    ['sensitive', tabular.sensitive],
  ];
  for (const [role, entries] of roles) {
    entries.forEach((entry, index) => {
      const path = ['tabular', role, index, 'column'];
      const previous = seen.get(entry.column);
      if (previous) {
        issues.push({ file, line: lineOf(doc, lineCounter, path), field: path.join('.'), message: `column "${entry.column}" already has a role (${previous})` });
      }
      seen.set(entry.column, role);
    });
  }
  const privacy = tabular.privacy;
  for (const model of ['l', 't'] as const) {
    if (privacy[model] && tabular.sensitive.length === 0) {
      const path = ['tabular', 'privacy', model];
      issues.push({ file, line: lineOf(doc, lineCounter, path), field: path.join('.'), message: `${model === 'l' ? 'l-diversity' : 't-closeness'} needs at least one column under tabular.sensitive` });
    }
  }
  if (privacy.l?.variant === 'recursive' && privacy.l.c === undefined) {
    const path = ['tabular', 'privacy', 'l'];
    issues.push({ file, line: lineOf(doc, lineCounter, path), field: 'tabular.privacy.l.c', message: 'recursive (c,l)-diversity needs c' });
  }
  tabular.quasiIdentifiers.forEach((qi, index) => {
    const path = ['tabular', 'quasiIdentifiers', index, 'hierarchy'];
    const h = qi.hierarchy;
    if (h && typeof h === 'object') {
      if ('intervals' in h && qi.type !== 'numeric') issues.push({ file, line: lineOf(doc, lineCounter, path), field: path.join('.'), message: 'an intervals hierarchy needs type: numeric' });
      if ('dates' in h && qi.type !== 'date') issues.push({ file, line: lineOf(doc, lineCounter, path), field: path.join('.'), message: 'a dates hierarchy needs type: date' });
    }
  });
  return issues;
}
