import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, isScalar, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { VeilError, type ErrorCode } from '../errors.js';
import { readProblem } from '../io/readProblem.js';
import { describeIssue, quoted } from './describe.js';
import { POLICY_LIMITS, screenPolicyText } from './screen.js';
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

/** One problem found in a policy; the first is what most commands print, `veil policy check` prints all. */
export interface PolicyIssue {
  file: string;
  line?: number;
  field: string;
  message: string;
  /** Absent: POLICY_INVALID. */
  code?: ErrorCode;
}

export type PolicyResult = { success: true; policy: Policy } | { success: false; issues: PolicyIssue[] };

/**
 * Reads and validates a policy file. Throws VeilError(POLICY_INVALID) naming file:line and
 * field, or FILE_NOT_FOUND with the reason. Hierarchy files are read when they are used
 * (their folder may be another, as for policies the API stores).
 */
export async function loadPolicy(file: string): Promise<Policy> {
  return unwrap(analysePolicy(await readPolicyText(file), { file, baseDir: dirname(resolve(file)) }).result);
}

/**
 * Reads and validates a policy file and checks that every hierarchy file it names can be
 * read; every problem comes back, each with its policy line (what `veil policy check` lists).
 */
export async function checkPolicyFile(file: string): Promise<PolicyResult> {
  const analysed = analysePolicy(await readPolicyText(file), { file, baseDir: dirname(resolve(file)) });
  if (!analysed.result.success) return analysed.result;
  const issues = await unreadableHierarchies(analysed.result.policy, analysed.locate);
  return issues.length > 0 ? { success: false, issues } : analysed.result;
}

async function readPolicyText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new VeilError('FILE_NOT_FOUND', `cannot read the policy file: ${readProblem(error)}`, { file });
  }
}

/**
 * The policy, or a VeilError for its first issue. An unreadable hierarchy file keeps its
 * FILE_NOT_FOUND code; the count of further problems points at `veil policy check`.
 */
export function unwrap(result: PolicyResult): Policy {
  if (result.success) return result.policy;
  const first = result.issues[0];
  const rest = result.issues.length - 1;
  const more = rest > 0 ? ` (and ${rest} more problem${rest > 1 ? 's' : ''}: \`veil policy check ${first.file}\` lists them all)` : '';
  throw new VeilError(first.code ?? 'POLICY_INVALID', `${first.message}${more}`, {
    file: first.file,
    line: first.line,
    field: first.field || undefined,
  });
}

/** One issue as `file:line: field: message`, the line `veil policy check` prints for it. */
export function issueLine(issue: PolicyIssue): string {
  return new VeilError(issue.code ?? 'POLICY_INVALID', issue.message, { file: issue.file, line: issue.line, field: issue.field || undefined }).toLine();
}

/** Parses policy YAML text; issues come back as data with file, line and field path. */
export function parsePolicy(text: string, where: { file: string; baseDir: string }): PolicyResult {
  return analysePolicy(text, where).result;
}

type Locate = (path: readonly (string | number)[]) => number | undefined;

function analysePolicy(text: string, where: { file: string; baseDir: string }): { result: PolicyResult; locate: Locate } {
  const file = where.file;
  const nowhere: Locate = () => undefined;
  const refused = screenPolicyText(text);
  if (refused) return { result: { success: false, issues: [{ file, line: refused.line, field: '', message: refused.message }] }, locate: nowhere };
  const lineCounter = new LineCounter();
  // duplicate keys are found below in linear time (the parser's own check is quadratic)
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const locate: Locate = (path) => lineOf(doc, lineCounter, path);
  const fail = (issues: PolicyIssue[]) => ({ result: { success: false as const, issues }, locate });
  if (doc.errors.length > 0) {
    return fail(
      capped(doc.errors.map((error) => ({
        file,
        line: error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line,
        field: '',
        message: `invalid YAML: ${error.code.toLowerCase().replace(/_/g, ' ')}`,
      })), file),
    );
  }
  const duplicates = duplicateKeys(doc, lineCounter, file);
  if (duplicates.length > 0) return fail(capped(duplicates, file));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: POLICY_LIMITS.maxAliases });
  } catch {
    // yaml counts the aliases each alias expands to and throws past maxAliasCount: a "billion laughs" text
    return fail([{ file, line: 1, field: '', message: `invalid YAML: aliases expand too far (aliases nested in aliases may expand to at most ${POLICY_LIMITS.maxAliases})` }]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return fail([{ file, line: 1, field: '', message: 'expected a mapping with name, version and at least one of tabular, dicom, pixels' }]);
  }
  const parsed = policySchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    return fail(capped(parsed.error.issues.flatMap((issue) => toIssues(issue, doc, lineCounter, file)), file));
  }
  const value = parsed.data;
  if (!value.tabular && !value.dicom && !value.pixels) {
    return fail([{ file, line: 1, field: '', message: 'a policy needs at least one of the sections tabular, dicom or pixels' }]);
  }
  const sha256 = createHash('sha256').update(text).digest('hex');
  const semantic = checkTabularSemantics(value, doc, lineCounter, file);
  if (semantic.length > 0) return fail(semantic);
  return { result: { success: true, policy: { ...value, source: { file, baseDir: where.baseDir, sha256 } } }, locate };
}

/** Keys that appear twice in one mapping, found with one set per mapping. */
function duplicateKeys(doc: Document, lineCounter: LineCounter, file: string): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) {
          const line = isNode(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]).line : undefined;
          issues.push({ file, line, field: '', message: `invalid YAML: the key ${quoted(String(key))} appears twice in one mapping` });
        }
        seen.add(key);
      }
    },
  });
  return issues;
}

/** Each hierarchy file the policy names that cannot be read, with the policy line naming it. */
async function unreadableHierarchies(policy: Policy, locate: Locate): Promise<PolicyIssue[]> {
  const tabular = policy.tabular;
  if (!tabular) return [];
  const named: { path: (string | number)[]; spec: string }[] = [];
  for (const role of ['quasiIdentifiers', 'sensitive'] as const) {
    tabular[role].forEach((entry, index) => {
      if (typeof entry.hierarchy === 'string') named.push({ path: ['tabular', role, index, 'hierarchy'], spec: entry.hierarchy });
    });
  }
  const issues: PolicyIssue[] = [];
  for (const { path, spec } of named) {
    const problem = await fileProblem(resolve(policy.source.baseDir, spec));
    if (problem) {
      issues.push({ file: policy.source.file, line: locate(path), field: path.join('.'), code: 'FILE_NOT_FOUND', message: `cannot read the hierarchy file ${quoted(spec)}: ${problem}` });
    }
  }
  return issues;
}

async function fileProblem(path: string): Promise<string | undefined> {
  try {
    if ((await stat(path)).isDirectory()) return 'is a folder, not a file';
    await access(path, constants.R_OK);
    return undefined;
  } catch (error) {
    return readProblem(error);
  }
}

/** At most MAX_ISSUES issues: a list nobody reads, each located by a search of the document. */
const MAX_ISSUES = 50;

function capped(issues: PolicyIssue[], file: string): PolicyIssue[] {
  if (issues.length <= MAX_ISSUES) return issues;
  return [...issues.slice(0, MAX_ISSUES), { file, field: '', message: `${issues.length - MAX_ISSUES} more problems not listed` }];
}

function toIssues(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter, file: string): PolicyIssue[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys') {
    // one line per unknown key, each at its own line
    return issue.keys.map((key, index) => {
      const nodePath = [...path, key];
      // lines only for the keys that will be listed
      const line = index < MAX_ISSUES ? lineOf(doc, lineCounter, nodePath) : undefined;
      return { file, line, field: nodePath.join('.'), message: `unknown field ${quoted(key)}` };
    });
  }
  return [{ file, line: lineOf(doc, lineCounter, path), field: path.join('.'), message: describeIssue(issue, path) }];
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
