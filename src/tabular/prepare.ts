import { VeilError } from '../errors.js';
import type { QuasiIdentifierSpec, SensitiveSpec, TabularPolicy } from '../policy/sections/tabular.js';
import { naturalOrder, type Dimension } from './dimensions.js';
import { encodeEntities, type Entities } from './entities.js';
import { buildHierarchy, defaultDateHierarchy, firstDataLine, usedValues, type HierarchyContext } from './hierarchy/build.js';
import { truncateHierarchy, type Hierarchy } from './hierarchy/hierarchy.js';
import type { SensitiveAttribute } from './models/model.js';
import type { Column, Table } from './table.js';

export interface PrepareContext {
  baseDir: string;
  policyFile?: string;
}

export interface Prepared {
  dimensions: Dimension[];
  sensitive: SensitiveAttribute[];
  /** Table column index of each dimension / sensitive attribute. */
  dimensionColumns: number[];
  sensitiveColumns: number[];
  /** The person of every record, when the policy names an entity column. */
  entities?: Entities;
}

/** Resolves the policy's columns in the table and encodes them for partitioning. */
export function prepare(table: Table, policy: TabularPolicy, ctx: PrepareContext): Prepared {
  const missing = new Set(policy.missingValues);
  const columnIndex = (name: string, field: string): number => {
    const index = table.columns.findIndex((c) => c.name === name);
    if (index < 0) {
      const known = table.columns.length <= 12 ? ` (columns: ${table.columns.map((c) => c.name).join(', ')})` : '';
      throw new VeilError('COLUMN_UNKNOWN', `column "${name}" named by the policy is not in the CSV header${known}`, { field });
    }
    return index;
  };
  policy.identifiers.forEach((id, i) => {
    if (!id.optional) columnIndex(id.column, `tabular.identifiers.${i}.column`);
  });
  const dimensionColumns = policy.quasiIdentifiers.map((qi, i) => columnIndex(qi.column, `tabular.quasiIdentifiers.${i}.column`));
  const sensitiveColumns = policy.sensitive.map((s, i) => columnIndex(s.column, `tabular.sensitive.${i}.column`));
  let entities: Entities | undefined;
  if (policy.entity !== undefined) {
    const index = columnIndex(policy.entity, 'tabular.entity');
    if (dimensionColumns.includes(index) || sensitiveColumns.includes(index)) {
      throw new VeilError('POLICY_INVALID', `the entity column "${policy.entity}" is also a quasi-identifier or sensitive column; it must only name the person`, { file: ctx.policyFile, field: 'tabular.entity' });
    }
    // A person's id published as is would name them: it must be replaced or emptied.
    if (!policy.identifiers.some((id) => id.column === policy.entity) && policy.otherColumns === 'keep') {
      throw new VeilError('POLICY_INVALID', `the entity column "${policy.entity}" would be published as it is: list it under tabular.identifiers (pseudonymize, randomize or remove)`, { file: ctx.policyFile, field: 'tabular.entity' });
    }
    entities = encodeEntities(table.columns[index], missing, 'tabular.entity');
  }

  const dimensions: Dimension[] = [];
  for (let i = 0; i < policy.quasiIdentifiers.length; i++) {
    const spec = policy.quasiIdentifiers[i];
    const column = table.columns[dimensionColumns[i]];
    const hctx: HierarchyContext = { baseDir: ctx.baseDir, field: `tabular.quasiIdentifiers.${i}.hierarchy`, policyFile: ctx.policyFile, missingValues: missing };
    dimensions.push(encodeQuasiIdentifier(column, spec, hctx));
  }
  const sensitive: SensitiveAttribute[] = [];
  for (let i = 0; i < policy.sensitive.length; i++) {
    const spec = policy.sensitive[i];
    const column = table.columns[sensitiveColumns[i]];
    const hctx: HierarchyContext = { baseDir: ctx.baseDir, field: `tabular.sensitive.${i}.hierarchy`, policyFile: ctx.policyFile, missingValues: missing };
    sensitive.push(encodeSensitive(column, spec, hctx));
  }
  return { dimensions, sensitive, dimensionColumns, sensitiveColumns, ...(entities ? { entities } : {}) };
}

function encodeQuasiIdentifier(column: Column, spec: QuasiIdentifierSpec, ctx: HierarchyContext): Dimension {
  if (spec.hierarchy !== undefined || spec.type === 'date') {
    const full = spec.hierarchy !== undefined ? buildHierarchy(spec.hierarchy, column, spec.type, ctx) : defaultDateHierarchy(column, ctx);
    if (spec.minLevel > full.height) {
      throw new VeilError('POLICY_INVALID', `minLevel ${spec.minLevel} is above the hierarchy's top level ${full.height}`, { file: ctx.policyFile, field: ctx.field.replace(/hierarchy$/, 'minLevel') });
    }
    if (spec.minLevel === 0) return { kind: 'hierarchical', name: column.name, hierarchy: full, ...leafCodes(column, full) };
    const { hierarchy, leafOf, leafWeights } = truncateHierarchy(full, spec.minLevel);
    return { kind: 'hierarchical', name: column.name, hierarchy, leafWeights, ...leafCodes(column, full, leafOf), cardinality: hierarchy.leafCount };
  }
  if (spec.type === 'numeric') return encodeNumeric(column, ctx.missingValues);
  const { codes, texts } = rankTexts(column, naturalOrder);
  return { kind: 'ordinal', name: column.name, codes, texts, cardinality: texts.length, domainDistinct: texts.length, valueCodes: column.codes };
}

function leafCodes(column: Column, hierarchy: Hierarchy, leafOf: (leaf: number) => number = (leaf) => leaf): { codes: Int32Array; cardinality: number; domainDistinct: number; valueCodes: Int32Array } {
  const byCode = Int32Array.from(column.dictionary, (value) => {
    const leaf = hierarchy.leafIndex.get(value);
    return leaf === undefined ? -1 : leafOf(leaf);
  });
  const codes = new Int32Array(column.codes.length);
  for (let r = 0; r < codes.length; r++) codes[r] = byCode[column.codes[r]];
  return { codes, cardinality: hierarchy.leafCount, domainDistinct: usedValues(column).length, valueCodes: column.codes };
}

/** Numbers ranked ascending (equal numbers share a code); missing values rank last. */
function encodeNumeric(column: Column, missing: ReadonlySet<string>): Dimension {
  const used = new Set(usedValues(column));
  const numberOf = new Float64Array(column.dictionary.length);
  const distinct = new Map<number, string>();
  let hasMissing = false;
  column.dictionary.forEach((text, code) => {
    if (!used.has(text)) return;
    if (missing.has(text)) {
      numberOf[code] = Number.NaN;
      hasMissing = true;
      return;
    }
    const x = text.trim() === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(x)) {
      throw new VeilError('VALUE_INVALID', `column "${column.name}" is numeric but has a value that is not a number`, {
        line: firstDataLine(column, text),
        field: column.name,
      });
    }
    numberOf[code] = x;
    if (!distinct.has(x)) distinct.set(x, text);
  });
  const sorted = [...distinct.keys()].sort((a, b) => a - b);
  const rank = new Map(sorted.map((x, i) => [x, i]));
  const missingCode = sorted.length;
  const byCode = Int32Array.from(numberOf, (x) => (Number.isNaN(x) ? missingCode : (rank.get(x) ?? missingCode)));
  const codes = new Int32Array(column.codes.length);
  for (let r = 0; r < codes.length; r++) codes[r] = byCode[column.codes[r]];
  const values = Float64Array.from([...sorted, ...(hasMissing ? [Number.NaN] : [])]);
  const missingText = column.dictionary.find((t) => used.has(t) && missing.has(t)) ?? '';
  const texts = [...sorted.map((x) => distinct.get(x) as string), ...(hasMissing ? [missingText] : [])];
  return {
    kind: 'numeric',
    name: column.name,
    codes,
    values,
    texts,
    cardinality: values.length,
    domainDistinct: values.length,
    valueCodes: codes,
    domainMin: sorted.length > 0 ? sorted[0] : 0,
    domainMax: sorted.length > 0 ? sorted[sorted.length - 1] : 0,
  };
}

/** Codes that rank the column's used texts by `compare`. */
function rankTexts(column: Column, compare: (a: string, b: string) => number): { codes: Int32Array; texts: string[] } {
  const texts = usedValues(column).sort(compare);
  const rank = new Map(texts.map((t, i) => [t, i]));
  const byCode = Int32Array.from(column.dictionary, (t) => rank.get(t) ?? -1);
  const codes = new Int32Array(column.codes.length);
  for (let r = 0; r < codes.length; r++) codes[r] = byCode[column.codes[r]];
  return { codes, texts };
}

function encodeSensitive(column: Column, spec: SensitiveSpec, ctx: HierarchyContext): SensitiveAttribute {
  if (spec.hierarchy !== undefined) {
    const hierarchy = buildHierarchy(spec.hierarchy, column, 'categorical', ctx);
    const { codes, cardinality } = leafCodes(column, hierarchy);
    return {
      name: column.name,
      codes,
      cardinality,
      texts: Array.from(hierarchy.leafNodes, (node) => hierarchy.labels[node]),
      distance: { kind: 'hierarchical', parent: hierarchy.parent, level: hierarchy.level, leafNodes: hierarchy.leafNodes, height: hierarchy.height, nodeCount: hierarchy.labels.length },
    };
  }
  if (spec.type === 'numeric') {
    const used = usedValues(column);
    for (const text of used) {
      if (!Number.isFinite(Number(text)) || text.trim() === '') {
        if (ctx.missingValues.has(text)) continue;
        throw new VeilError('VALUE_INVALID', `sensitive column "${column.name}" is numeric but has a value that is not a number`, { line: firstDataLine(column, text), field: column.name });
      }
    }
    // Missing values sort after all numbers, like anoneval's ordering.
    const numeric = (a: string, b: string) => sortKey(a) - sortKey(b) || naturalOrder(a, b);
    const { codes, texts } = rankTexts(column, numeric);
    return { name: column.name, codes, cardinality: texts.length, texts, distance: { kind: 'ordered' } };
  }
  const { codes, texts } = rankTexts(column, naturalOrder);
  return { name: column.name, codes, cardinality: texts.length, texts, distance: { kind: 'equal' } };
}

function sortKey(text: string): number {
  const x = Number(text);
  return text.trim() !== '' && Number.isFinite(x) ? x : Number.POSITIVE_INFINITY;
}

