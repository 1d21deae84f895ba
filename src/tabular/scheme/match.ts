import type { Dimension, HierarchicalDimension } from '../dimensions.js';
import type { Hierarchy } from '../hierarchy/hierarchy.js';
import type { CoverRule, NodeRef, Scheme } from './scheme.js';

/**
 * Finds the scheme class of a row of a new batch (-1 when no class covers it): the class whose
 * own part of the domain holds the row (parts never overlap, so a batch re-applied to itself
 * is published exactly as it was); failing that, the most specific class whose labels cover
 * the row — every label stays true of the row either way.
 *
 * Rules are first resolved against this batch's encoding into typed arrays (a range into two
 * numbers, a hierarchy node into a node id whose leaves are a code range, a category into a
 * code), so a test is a comparison. A row's candidates come from the categorical
 * quasi-identifier that leaves the fewest (classes are listed per hierarchy node and per
 * category).
 */
export interface SchemeMatcher {
  /** The class of row r, skipping `closed` classes; -1 when none covers it. */
  classOf(r: number, closed?: Uint8Array): number;
  /** Whether class c's labels cover row r on every quasi-identifier. */
  covers(c: number, r: number): boolean;
}

export function createMatcher(scheme: Scheme, dimensions: readonly Dimension[]): SchemeMatcher {
  const resolved = dimensions.map((dim, d) => resolveDimension(dim, scheme.classes.map((c) => c.rules[d])));
  // Cheap and selective tests first: ranges, then hierarchy nodes, then category sets.
  const rank = { numeric: 0, hierarchical: 1, ordinal: 2 } as const;
  const order = dimensions.map((_, d) => d).sort((a, b) => rank[dimensions[a].kind] - rank[dimensions[b].kind]);
  const width = Float64Array.from(scheme.classes, (c) => c.width);
  const codes = new Int32Array(dimensions.length);

  /** 0: not covered; 1: its labels cover the row; 2: its own part holds the row too. */
  const fit = (c: number): number => {
    let inPart = true;
    for (const d of order) {
      const verdict = resolved[d].fit(c, codes[d]);
      if (verdict === 0) return 0;
      if (verdict === 1) inPart = false;
    }
    return inPart ? 2 : 1;
  };
  const load = (r: number): void => {
    for (let d = 0; d < dimensions.length; d++) codes[d] = dimensions[d].codes[r];
  };

  return {
    covers(c, r) {
      load(r);
      return fit(c) > 0;
    },
    classOf(r, closed) {
      load(r);
      let source = -1;
      let fewest = Infinity;
      for (let d = 0; d < dimensions.length; d++) {
        const count = resolved[d].candidateCount(codes[d]);
        if (count < fewest) {
          fewest = count;
          source = d;
        }
      }
      let best = -1;
      let fallback = -1;
      const visit = (c: number): boolean => {
        if (closed && closed[c]) return false;
        const verdict = fit(c);
        if (verdict === 2) {
          best = c;
          return true;
        }
        if (verdict === 1 && (fallback < 0 || width[c] < width[fallback])) fallback = c;
        return false;
      };
      if (source >= 0) resolved[source].eachCandidate(codes[source], visit);
      else for (let c = 0; c < width.length && !visit(c); c++);
      return best >= 0 ? best : fallback;
    },
  };
}

interface ResolvedDimension {
  /** 0: class c does not cover the code; 1: its label does; 2: its own part holds it too. */
  fit(c: number, code: number): number;
  /** How many classes a code may belong to (Infinity: this dimension does not index them). */
  candidateCount(code: number): number;
  /** Calls visit(c) for each class the code may belong to, until visit returns true. */
  eachCandidate(code: number, visit: (c: number) => boolean): void;
}

/** Numeric ranges are tested, not indexed: a categorical quasi-identifier supplies the candidates. */
const NOT_INDEXED = { candidateCount: () => Infinity, eachCandidate: () => undefined };

function resolveDimension(dim: Dimension, rules: readonly CoverRule[]): ResolvedDimension {
  switch (dim.kind) {
    case 'numeric': {
      const min = Float64Array.from(rules, (rule) => (rule.kind === 'range' && rule.min !== null ? rule.min : Infinity));
      const max = Float64Array.from(rules, (rule) => (rule.kind === 'range' && rule.max !== null ? rule.max : -Infinity));
      const missing = Uint8Array.from(rules, (rule) => (rule.kind === 'range' && rule.missing ? 1 : 0));
      // without a part of its own (records not grouped by person), a class's part is its range
      const partMin = Float64Array.from(rules, (rule, c) => (rule.kind === 'range' && rule.part ? (rule.part.min ?? Infinity) : min[c]));
      const partMax = Float64Array.from(rules, (rule, c) => (rule.kind === 'range' && rule.part ? (rule.part.max ?? -Infinity) : max[c]));
      return {
        ...NOT_INDEXED,
        fit: (c, code) => {
          const x = dim.values[code];
          if (Number.isNaN(x)) return missing[c] ? 2 : 0;
          if (x < min[c] || x > max[c]) return 0;
          return x >= partMin[c] && x <= partMax[c] ? 2 : 1;
        },
      };
    }
    case 'hierarchical':
      return resolveHierarchical(dim, rules);
    case 'ordinal': {
      const codeOf = new Map(dim.texts.map((text, code) => [text, code]));
      const sets = rules.map((rule) => new Set(rule.kind === 'set' ? rule.values.map((v) => codeOf.get(v) ?? -1) : []));
      const parts = rules.map((rule, c) => (rule.kind === 'set' && rule.part ? new Set(rule.part.map((v) => codeOf.get(v) ?? -1)) : sets[c]));
      const byCode: number[][] = dim.texts.map(() => []);
      sets.forEach((set, c) => {
        for (const code of set) if (code >= 0) byCode[code].push(c);
      });
      return {
        fit: (c, code) => (!sets[c].has(code) ? 0 : parts[c].has(code) ? 2 : 1),
        candidateCount: (code) => byCode[code].length,
        eachCandidate: (code, visit) => {
          for (const c of byCode[code]) if (visit(c)) return;
        },
      };
    }
  }
}

function resolveHierarchical(dim: HierarchicalDimension, rules: readonly CoverRule[]): ResolvedDimension {
  const h = dim.hierarchy;
  const nodeOf = nodeIndex(h);
  const resolve = (ref: NodeRef): number => nodeOf.get(`${ref.level}\u0000${ref.label}`) ?? -1;
  const label = Int32Array.from(rules, (rule) => (rule.kind === 'node' ? resolve(rule) : -1));
  const parts = rules.map((rule) => (rule.kind === 'node' && rule.within ? Int32Array.from(rule.within, resolve) : undefined));
  // A node covers a range of leaf codes: an ancestor test is two comparisons.
  const { leafStart, leafEnd } = h;
  const classesAt: number[][] = h.labels.map(() => []);
  label.forEach((node, c) => {
    if (node >= 0) classesAt[node].push(c);
  });
  const countAt = new Int32Array(h.leafCount);
  for (let leaf = 0; leaf < h.leafCount; leaf++) {
    for (let node = h.leafNodes[leaf]; node >= 0; node = h.parent[node]) countAt[leaf] += classesAt[node].length;
  }
  return {
    fit: (c, code) => {
      const node = label[c];
      if (node < 0 || code < leafStart[node] || code >= leafEnd[node]) return 0;
      const own = parts[c];
      if (!own) return 2;
      for (let i = 0; i < own.length; i++) if (own[i] >= 0 && code >= leafStart[own[i]] && code < leafEnd[own[i]]) return 2;
      return 1;
    },
    candidateCount: (code) => countAt[code],
    eachCandidate: (code, visit) => {
      for (let node = h.leafNodes[code]; node >= 0; node = h.parent[node]) {
        for (const c of classesAt[node]) if (visit(c)) return;
      }
    },
  };
}

/** Node id by (level, label): how a scheme names nodes, the same in every batch. */
function nodeIndex(h: Hierarchy): Map<string, number> {
  const index = new Map<string, number>();
  h.labels.forEach((label, node) => index.set(`${h.level[node]}\u0000${label}`, node));
  return index;
}

