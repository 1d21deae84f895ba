import { readFileSync } from 'node:fs';
import { VeilError } from '../../errors.js';
import { readProblem } from '../../io/readProblem.js';
import { detectDelimiter } from '../csv/delimiter.js';
import { CsvParser, CsvSyntaxError } from '../csv/parse.js';
import { DEFAULT_MAX_CELL_BYTES } from '../csv/limits.js';
import type { Dimension } from '../dimensions.js';
import { lowestCoveringNode } from '../hierarchy/hierarchy.js';
import type { ClassIndex } from '../metrics/classes.js';

/**
 * A population table for journalist and marketer risk: one row per person of the population
 * the data were sampled from, with the quasi-identifier columns (same names as in the policy).
 * Only the number of people per distinct tuple of original values is kept.
 */
export interface Population {
  /** Count of each distinct tuple, keyed by the values joined with U+0000 in quasi-identifier order. */
  tuples: Map<string, number>;
  size: number;
}

const SEPARATOR = '\u0000';

export function readPopulation(file: string, quasiIdentifiers: readonly string[], where: { policyFile?: string; field: string; spec: string }): Population {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new VeilError('FILE_NOT_FOUND', `cannot read the population table ${JSON.stringify(where.spec)}: ${readProblem(error)}`, { file: where.policyFile, field: where.field });
  }
  const tuples = new Map<string, number>();
  let size = 0;
  let positions: number[] | undefined;
  const parser = new CsvParser({
    delimiter: detectDelimiter(text.slice(0, text.search(/\r?\n|$/))),
    maxCellBytes: DEFAULT_MAX_CELL_BYTES,
    onRecord: (cells, count, line) => {
      if (!positions) {
        const header = cells.slice(0, count);
        positions = quasiIdentifiers.map((name) => {
          const index = header.indexOf(name);
          if (index < 0) throw new VeilError('CSV_INVALID', `the population table has no column "${name}" (it needs every quasi-identifier of the policy)`, { file, line });
          return index;
        });
        return;
      }
      const key = positions.map((p) => (p < count ? cells[p] : '')).join(SEPARATOR);
      tuples.set(key, (tuples.get(key) ?? 0) + 1);
      size++;
    },
  });
  try {
    parser.write(text);
    parser.end();
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new VeilError('CSV_INVALID', `the population table is not valid CSV: ${error.message}`, { file, line: error.line });
    throw error;
  }
  return { tuples, size };
}

/** Population count of each class of the original table (exact match on the original values). */
export function populationOfOriginalClasses(population: Population, classes: ClassIndex, originalColumns: readonly { codes: Int32Array; dictionary: readonly string[] }[]): Float64Array {
  const out = new Float64Array(classes.count);
  for (let c = 0; c < classes.count; c++) {
    const r = classes.order[classes.starts[c]];
    const key = originalColumns.map((col) => col.dictionary[col.codes[r]]).join(SEPARATOR);
    out[c] = population.tuples.get(key) ?? 0;
  }
  return out;
}

/**
 * Population count of each published class: the people of the population whose original
 * values the class's published labels cover — what a journalist matching the population
 * against the release sees. A label covers a value as the output writes it: a numeric range
 * [lo-hi] covers the numbers in it, a hierarchy node the leaves under it, a set its members.
 * A population value absent from a hierarchy built from the data is covered by no class,
 * which can only make the counts smaller and the journalist risk higher.
 */
export function populationOfPublishedClasses(population: Population, classes: ClassIndex, dimensions: readonly Dimension[], missingValues: ReadonlySet<string>): Float64Array {
  const covers = dimensions.map((dim) => coverTests(dim, classes, missingValues));
  const words = (classes.count + 31) >>> 5;
  // Per dimension and distinct value, the set of classes whose label covers it (a bitset):
  // a tuple's classes are then the AND of its values' sets.
  const cache = dimensions.map(() => new Map<string, Uint32Array>());
  const coveringSet = (d: number, text: string): Uint32Array => {
    let set = cache[d].get(text);
    if (!set) {
      set = new Uint32Array(words);
      const test = covers[d](text);
      for (let c = 0; c < classes.count; c++) if (test(c)) set[c >>> 5] |= 1 << (c & 31);
      cache[d].set(text, set);
    }
    return set;
  };
  const out = new Float64Array(classes.count);
  const acc = new Uint32Array(words);
  for (const [key, count] of population.tuples) {
    const values = key.split(SEPARATOR);
    acc.fill(0xffffffff);
    for (let d = 0; d < dimensions.length; d++) {
      const set = coveringSet(d, values[d] ?? '');
      for (let w = 0; w < words; w++) acc[w] &= set[w];
    }
    for (let w = 0; w < words; w++) {
      let bits = acc[w];
      while (bits !== 0) {
        const low = bits & -bits;
        const c = (w << 5) + (31 - Math.clz32(low));
        if (c < classes.count) out[c] += count;
        bits ^= low;
      }
    }
  }
  return out;
}

/** For one dimension: value text → (class → does its label cover the value?). */
function coverTests(dim: Dimension, classes: ClassIndex, missing: ReadonlySet<string>): (text: string) => (c: number) => boolean {
  const lo = new Int32Array(classes.count).fill(0x7fffffff);
  const hi = new Int32Array(classes.count).fill(-1);
  for (let c = 0; c < classes.count; c++) {
    for (let i = classes.starts[c]; i < classes.starts[c + 1]; i++) {
      const code = dim.codes[classes.order[i]];
      if (code < lo[c]) lo[c] = code;
      if (code > hi[c]) hi[c] = code;
    }
  }
  const never = () => false;
  switch (dim.kind) {
    case 'numeric': {
      const missingCode = Number.isNaN(dim.values[dim.values.length - 1]) ? dim.values.length - 1 : -1;
      // Highest present value of each class (the label's upper end), below the missing code.
      const top = new Float64Array(classes.count).fill(NaN);
      const hasMissing = new Uint8Array(classes.count);
      for (let c = 0; c < classes.count; c++) {
        for (let i = classes.starts[c]; i < classes.starts[c + 1]; i++) {
          const code = dim.codes[classes.order[i]];
          if (code === missingCode) hasMissing[c] = 1;
          else if (!(dim.values[code] <= top[c])) top[c] = dim.values[code];
        }
      }
      return (text) => {
        if (missing.has(text)) return (c) => hasMissing[c] === 1;
        const x = Number(text);
        if (text === '' || !Number.isFinite(x)) return never;
        return (c) => lo[c] !== missingCode && dim.values[lo[c]] <= x && x <= top[c];
      };
    }
    case 'hierarchical': {
      const h = dim.hierarchy;
      const node = Int32Array.from({ length: classes.count }, (_, c) => lowestCoveringNode(h, lo[c], hi[c]));
      return (text) => {
        const leaf = h.leafIndex.get(text);
        if (leaf === undefined) return never;
        return (c) => h.leafStart[node[c]] <= leaf && leaf < h.leafEnd[node[c]];
      };
    }
    case 'ordinal': {
      const index = new Map(dim.texts.map((t, code) => [t, code]));
      return (text) => {
        const code = index.get(text);
        if (code === undefined) return never;
        return (c) => {
          for (let i = classes.starts[c]; i < classes.starts[c + 1]; i++) if (dim.codes[classes.order[i]] === code) return true;
          return false;
        };
      };
    }
  }
}

/**
 * A ZIP population table for the Safe Harbor check: columns `zip3` (or `zip`, of which the
 * first 3 digits are used) and `population`; populations of the same prefix add up.
 */
export function readZipPopulation(file: string, where: { policyFile?: string; field: string; spec: string }): Map<string, number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new VeilError('FILE_NOT_FOUND', `cannot read the ZIP population table ${JSON.stringify(where.spec)}: ${readProblem(error)}`, { file: where.policyFile, field: where.field });
  }
  const out = new Map<string, number>();
  let zipAt = -1;
  let populationAt = -1;
  const parser = new CsvParser({
    delimiter: detectDelimiter(text.slice(0, text.search(/\r?\n|$/))),
    maxCellBytes: DEFAULT_MAX_CELL_BYTES,
    onRecord: (cells, count, line) => {
      if (zipAt < 0) {
        const header = cells.slice(0, count).map((h) => h.toLowerCase());
        zipAt = header.indexOf('zip3') >= 0 ? header.indexOf('zip3') : header.indexOf('zip');
        populationAt = header.indexOf('population');
        if (zipAt < 0 || populationAt < 0) throw new VeilError('CSV_INVALID', 'the ZIP population table needs the columns zip3 (or zip) and population', { file, line });
        return;
      }
      const prefix = /^\d{3}/.exec(cells[zipAt] ?? '')?.[0];
      const people = Number(cells[populationAt]);
      if (prefix === undefined || !Number.isFinite(people) || people < 0) throw new VeilError('CSV_INVALID', 'expected a ZIP of at least 3 digits and a population count', { file, line });
      out.set(prefix, (out.get(prefix) ?? 0) + people);
    },
  });
  try {
    parser.write(text);
    parser.end();
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new VeilError('CSV_INVALID', `the ZIP population table is not valid CSV: ${error.message}`, { file, line: error.line });
    throw error;
  }
  return out;
}
