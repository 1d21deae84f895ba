import type { z as Zod } from 'zod';
import { VeilError } from '../../errors.js';
import type { PolicyRef } from '../../report/tabularReport.js';
import type { Dimension } from '../dimensions.js';
import { lowestCoveringNode } from '../hierarchy/hierarchy.js';
import type { Partitioning } from '../mondrian/mondrian.js';

/**
 * A generalization scheme: the classes one anonymization published, saved so that the next
 * batch of the same study can be published in the same classes (`veil tabular apply`). It
 * holds each class's labels and the part of the domain Mondrian gave it — hierarchy nodes
 * below the label, and with people the range of their smallest values — never a record, but
 * finer than the published labels: it stays with the data steward, not with the export.
 */
export interface Scheme {
  kind: 'veil-tabular-scheme';
  version: 1;
  /** The policy it was made with: a scheme is re-applied only under the same policy bytes. */
  policy: PolicyRef;
  quasiIdentifiers: string[];
  classes: SchemeClass[];
}

export interface SchemeClass {
  /** What the class publishes, one label per quasi-identifier. */
  labels: string[];
  rules: CoverRule[];
  /** How generalized the class is (0 … number of quasi-identifiers): the most specific match wins. */
  width: number;
}

/**
 * Which values a class covers on one quasi-identifier: a numeric range (bounds included, and
 * missing values when the label says "or missing"), a hierarchy node (by level and label,
 * which builders and ARX files give alike in every batch) — and, `within`, the nodes of the
 * class's own part of the domain: a remainder class is labelled with an ancestor that also
 * covers its siblings, which are other classes' — or a set of categories. When records are
 * grouped by person, Mondrian placed each person by their smallest values, and `part` keeps
 * the range or set those fell in (the labels cover all of the person's values). Parts never
 * overlap, so a batch re-applied to itself is published exactly as it was.
 */
export interface NodeRef {
  level: number;
  label: string;
}

export type CoverRule =
  | { kind: 'range'; min: number | null; max: number | null; missing: boolean; part?: { min: number | null; max: number | null } }
  | { kind: 'node'; level: number; label: string; within?: NodeRef[] }
  | { kind: 'set'; values: string[]; part?: string[] };

/**
 * The shape of a scheme file, built on the first parseScheme. zod (≈ 0.13 s of CPU to import) is
 * loaded then, not with the tabular engine: a job or step process that is handed its parsed
 * policy never reads a scheme and never needs it. Imported (the same module the policy loader
 * uses), not required: a process that parsed its policy already has it.
 */
function buildSchemeSchema(z: typeof Zod) {
  const ruleSchema = z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('range'),
      min: z.number().nullable(),
      max: z.number().nullable(),
      missing: z.boolean(),
      part: z.strictObject({ min: z.number().nullable(), max: z.number().nullable() }).optional(),
    }),
    z.strictObject({
      kind: z.literal('node'),
      level: z.number().int().min(0),
      label: z.string(),
      within: z.array(z.strictObject({ level: z.number().int().min(0), label: z.string() })).optional(),
    }),
    z.strictObject({ kind: z.literal('set'), values: z.array(z.string()), part: z.array(z.string()).optional() }),
  ]);
  return z.strictObject({
    kind: z.literal('veil-tabular-scheme'),
    version: z.literal(1),
    policy: z.strictObject({ name: z.string(), version: z.number(), sha256: z.string() }),
    quasiIdentifiers: z.array(z.string()).min(1),
    classes: z.array(z.strictObject({ labels: z.array(z.string()), rules: z.array(ruleSchema), width: z.number().min(0) })),
  });
}

let schemeSchema: ReturnType<typeof buildSchemeSchema> | undefined;

async function schemeShape(): Promise<ReturnType<typeof buildSchemeSchema>> {
  schemeSchema ??= buildSchemeSchema((await import('zod')).z);
  return schemeSchema;
}

/**
 * The scheme of the classes Mondrian made: class c holds rows perm[bounds[c] … bounds[c+1]).
 * `partitioned` are the dimensions Mondrian cut (each person's smallest values, when records
 * are grouped by person); labels and cover rules come from the real values.
 */
export function schemeOfClasses(dimensions: readonly Dimension[], labels: readonly (readonly string[])[], partitioning: Partitioning, policy: PolicyRef, partitioned: readonly Dimension[] = dimensions): Scheme {
  const { perm, bounds } = partitioning;
  const classes: SchemeClass[] = [];
  const byLabels = new Map<string, SchemeClass>();
  for (let c = 0; c + 1 < bounds.length; c++) {
    const classLabels = dimensions.map((_, d) => labels[d][c]);
    let width = 0;
    const rules = dimensions.map((dim, d) => {
      const own = coverRule(dim, perm, bounds[c], bounds[c + 1], partitioning.regions?.[c]?.[d] ?? null);
      width += own.width;
      const rule = own.rule;
      if (partitioned[d] === dim) return rule;
      const part = coverRule(partitioned[d], perm, bounds[c], bounds[c + 1], null).rule;
      if (rule.kind === 'range' && part.kind === 'range') return { ...rule, part: { min: part.min, max: part.max } };
      if (rule.kind === 'set' && part.kind === 'set') return { ...rule, part: part.values };
      return rule;
    });
    // Two parts with the same labels are one published class: their parts of the domain join.
    const key = classLabels.join('\u0000');
    const same = byLabels.get(key);
    if (same) {
      same.rules.forEach((rule, d) => {
        const other = rules[d];
        if (rule.kind === 'node' && other.kind === 'node' && rule.within && other.within) rule.within.push(...other.within);
        if (rule.kind === 'set' && other.kind === 'set' && rule.part && other.part) rule.part.push(...other.part);
        if (rule.kind === 'range' && other.kind === 'range' && rule.part && other.part) rule.part = joinRanges(rule.part, other.part);
      });
      continue;
    }
    const added = { labels: classLabels, rules, width };
    byLabels.set(key, added);
    classes.push(added);
  }
  return { kind: 'veil-tabular-scheme', version: 1, policy, quasiIdentifiers: dimensions.map((d) => d.name), classes };
}

function joinRanges(a: { min: number | null; max: number | null }, b: { min: number | null; max: number | null }): { min: number | null; max: number | null } {
  if (a.min === null || a.max === null) return b;
  if (b.min === null || b.max === null) return a;
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

/** A class's rule on one dimension, and how wide it is: 0 for a single value … 1 for the whole column, as NCP measures it. */
function coverRule(dim: Dimension, perm: Int32Array, from: number, to: number, region: readonly number[] | null): { rule: CoverRule; width: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to; i++) {
    const code = dim.codes[perm[i]];
    if (code < lo) lo = code;
    if (code > hi) hi = code;
  }
  switch (dim.kind) {
    case 'numeric': {
      let min = Infinity;
      let max = -Infinity;
      let missing = false;
      for (let i = from; i < to; i++) {
        const x = dim.values[dim.codes[perm[i]]];
        if (Number.isNaN(x)) missing = true;
        else {
          if (x < min) min = x;
          if (x > max) max = x;
        }
      }
      if (!(min <= max)) return { rule: { kind: 'range', min: null, max: null, missing }, width: 0 };
      return { rule: { kind: 'range', min, max, missing }, width: dim.domainMax > dim.domainMin ? (max - min) / (dim.domainMax - dim.domainMin) : 0 };
    }
    case 'hierarchical': {
      const h = dim.hierarchy;
      const node = lowestCoveringNode(h, lo, hi);
      const within = region?.map((n) => ({ level: h.level[n], label: h.labels[n] }));
      const width = h.leafCount < 2 ? 0 : (h.leafEnd[node] - h.leafStart[node] - 1) / (h.leafCount - 1);
      return { rule: { kind: 'node', level: h.level[node], label: h.labels[node], ...(within ? { within } : {}) }, width };
    }
    case 'ordinal': {
      const present = new Set<number>();
      for (let i = from; i < to; i++) present.add(dim.codes[perm[i]]);
      const values = [...present].sort((a, b) => a - b).map((code) => dim.texts[code]);
      return { rule: { kind: 'set', values }, width: dim.domainDistinct < 2 ? 0 : (values.length - 1) / (dim.domainDistinct - 1) };
    }
  }
}

/** Reads a scheme file's JSON, checking its shape; errors name the file and field. */
export async function parseScheme(text: string, file: string): Promise<Scheme> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new VeilError('SCHEME_INVALID', 'not a JSON file: expected a scheme written by `veil tabular anonymize --scheme-out`', { file });
  }
  const parsed = (await schemeShape()).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VeilError('SCHEME_INVALID', `not a Veil scheme: ${issue.message}`, { file, field: issue.path.join('.') || undefined });
  }
  const scheme = parsed.data as Scheme;
  const width = scheme.quasiIdentifiers.length;
  const bad = scheme.classes.findIndex((c) => c.labels.length !== width || c.rules.length !== width);
  if (bad >= 0) throw new VeilError('SCHEME_INVALID', `class ${bad} has ${scheme.classes[bad].labels.length} labels and ${scheme.classes[bad].rules.length} rules, expected ${width}`, { file, field: `classes.${bad}` });
  return scheme;
}
