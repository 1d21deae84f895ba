import type { Dimension } from '../dimensions.js';
import type { CoverRule, Scheme } from './scheme.js';

/**
 * The scheme class of every row of a new batch (-1 when no class covers it): the class whose
 * own part of the domain holds the row (parts never overlap, so a batch re-applied to itself
 * is published exactly as it was); failing that, the most specific class whose labels cover
 * the row — every label stays true of the row either way. Candidates come from an index on a
 * categorical quasi-identifier (hierarchy node or category → classes), so a row is checked
 * against a few classes, not all of them. `rows` limits the rows matched (others get -1), and
 * `closed` classes are skipped.
 */
export function matchScheme(scheme: Scheme, dimensions: readonly Dimension[], rowCount: number, options: { rows?: Iterable<number>; closed?: Uint8Array } = {}): Int32Array {
  const inPart = dimensions.map((dim, d) => coverTest(dim, scheme.classes.map((c) => c.rules[d]), true));
  const covers = dimensions.map((dim, d) => coverTest(dim, scheme.classes.map((c) => c.rules[d]), false));
  const index = candidateIndex(scheme, dimensions);
  const all = scheme.classes.map((_, c) => c);
  const classOf = new Int32Array(rowCount).fill(-1);
  const closed = options.closed;
  for (const r of options.rows ?? Array.from({ length: rowCount }, (_, i) => i)) {
    let candidates: readonly number[] = all;
    for (const { d, byCode } of index) {
      const list = byCode[dimensions[d].codes[r]];
      if (list.length < candidates.length) candidates = list;
    }
    const holds = (tests: typeof covers, c: number): boolean => {
      for (let d = 0; d < dimensions.length; d++) if (!tests[d](c, dimensions[d].codes[r])) return false;
      return true;
    };
    const open = closed ? candidates.filter((c) => closed[c] === 0) : candidates;
    let best = open.find((c) => holds(inPart, c)) ?? -1;
    if (best < 0) {
      for (const c of open) if (holds(covers, c) && (best < 0 || scheme.classes[c].width < scheme.classes[best].width)) best = c;
    }
    classOf[r] = best;
  }
  return classOf;
}

/** covers(class, code): whether the class's rule on this dimension covers a row's code (`inPart`: within its own part too). */
function coverTest(dim: Dimension, rules: readonly CoverRule[], inPart: boolean): (c: number, code: number) => boolean {
  switch (dim.kind) {
    case 'numeric':
      return (c, code) => {
        const rule = rules[c];
        if (rule.kind !== 'range') return false;
        const x = dim.values[code];
        if (Number.isNaN(x)) return rule.missing;
        return rule.min !== null && rule.max !== null && x >= rule.min && x <= rule.max;
      };
    case 'hierarchical': {
      const ancestors = ancestorKeys(dim);
      return (c, code) => {
        const rule = rules[c];
        if (rule.kind !== 'node' || !ancestors[code].has(nodeKey(rule.level, rule.label))) return false;
        return !inPart || !rule.within || rule.within.some((part) => ancestors[code].has(nodeKey(part.level, part.label)));
      };
    }
    case 'ordinal': {
      const sets = rules.map((rule) => new Set(rule.kind === 'set' ? rule.values : []));
      return (c, code) => sets[c].has(dim.texts[code]);
    }
  }
}

/** For every code of a hierarchical dimension: the keys of its leaf and all its ancestors. */
function ancestorKeys(dim: Extract<Dimension, { kind: 'hierarchical' }>): Set<string>[] {
  const h = dim.hierarchy;
  return Array.from({ length: h.leafCount }, (_, leaf) => {
    const keys = new Set<string>();
    for (let node = h.leafNodes[leaf]; node >= 0; node = h.parent[node]) keys.add(nodeKey(h.level[node], h.labels[node]));
    return keys;
  });
}

function nodeKey(level: number, label: string): string {
  return `${level}\u0000${label}`;
}

/** Per categorical dimension: the classes each code may belong to. */
function candidateIndex(scheme: Scheme, dimensions: readonly Dimension[]): { d: number; byCode: number[][] }[] {
  const index: { d: number; byCode: number[][] }[] = [];
  dimensions.forEach((dim, d) => {
    if (dim.kind === 'numeric') return;
    const byKey = new Map<string, number[]>();
    scheme.classes.forEach((cls, c) => {
      const rule = cls.rules[d];
      const keys = rule.kind === 'node' ? [nodeKey(rule.level, rule.label)] : rule.kind === 'set' ? rule.values : [];
      for (const key of keys) {
        const list = byKey.get(key);
        if (list) list.push(c);
        else byKey.set(key, [c]);
      }
    });
    const byCode: number[][] = [];
    if (dim.kind === 'hierarchical') {
      for (const keys of ancestorKeys(dim)) byCode.push([...keys].flatMap((key) => byKey.get(key) ?? []));
    } else {
      for (const text of dim.texts) byCode.push(byKey.get(text) ?? []);
    }
    index.push({ d, byCode });
  });
  return index;
}
