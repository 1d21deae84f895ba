import { resolve } from 'node:path';
import { VeilError } from '../../errors.js';
import type { HierarchySpec } from '../../policy/sections/tabular.js';
import type { Column } from '../table.js';
import { readArxHierarchy } from './arx.js';
import { datePaths, parseDate, type CalendarDate, type DateLevel } from './builders/dates.js';
import { intervalPaths } from './builders/intervals.js';
import { maskingPaths } from './builders/masking.js';
import { treePaths } from './builders/tree.js';
import { hierarchyFromPaths, type Hierarchy } from './hierarchy.js';

export interface HierarchyContext {
  /** Directory that relative hierarchy paths are resolved against (the policy's). */
  baseDir: string;
  /** Policy field path, for errors: tabular.quasiIdentifiers.2.hierarchy */
  field: string;
  policyFile?: string;
  missingValues: ReadonlySet<string>;
}

/** Loads or builds the hierarchy a policy declares for `column`, then checks it covers the data. */
export function buildHierarchy(spec: HierarchySpec, column: Column, type: 'numeric' | 'categorical' | 'date', ctx: HierarchyContext): Hierarchy {
  const where = { file: ctx.policyFile, field: ctx.field };
  const used = usedValues(column);
  let hierarchy: Hierarchy;
  if (typeof spec === 'string') {
    hierarchy = readArxHierarchy(resolve(ctx.baseDir, spec), { policyFile: ctx.policyFile, field: ctx.field, spec });
  } else if ('intervals' in spec) {
    const present = used.filter((v) => !ctx.missingValues.has(v));
    const numbers = present.map(Number);
    const bad = numbers.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw nonNumeric(column, present[bad], ctx);
    hierarchy = hierarchyFromPaths([...intervalPaths(present, numbers, spec.intervals), ...missingPaths(used, ctx, spec.intervals.levels)], where);
  } else if ('masking' in spec) {
    hierarchy = hierarchyFromPaths(maskingPaths(used, spec.masking), where);
  } else if ('dates' in spec) {
    hierarchy = dateHierarchy(column, used, spec.dates.levels, ctx);
  } else {
    hierarchy = hierarchyFromPaths(treePaths(spec.tree, where), where);
  }
  if (type === 'date' && typeof spec === 'string') checkDates(column, used, ctx);
  checkCoverage(hierarchy, column, typeof spec === 'string' ? spec : ctx.field);
  return hierarchy;
}

/** The default hierarchy of a date column: month → year → decade. */
export function defaultDateHierarchy(column: Column, ctx: HierarchyContext): Hierarchy {
  return dateHierarchy(column, usedValues(column), ['month', 'year', 'decade'], ctx);
}

function dateHierarchy(column: Column, used: string[], levels: readonly DateLevel[], ctx: HierarchyContext): Hierarchy {
  const present = used.filter((v) => !ctx.missingValues.has(v));
  const dates = checkDates(column, present, ctx);
  return hierarchyFromPaths([...datePaths(present, dates, levels), ...missingPaths(used, ctx, levels.length)], { file: ctx.policyFile, field: ctx.field });
}

function checkDates(column: Column, values: string[], ctx: HierarchyContext): CalendarDate[] {
  return values.map((value) => {
    const date = parseDate(value);
    if (!date && !ctx.missingValues.has(value)) {
      throw new VeilError('VALUE_INVALID', `column "${column.name}" has a value that is not a date (expected YYYY-MM-DD)`, {
        line: firstDataLine(column, value),
        field: column.name,
      });
    }
    return date ?? { year: 0, month: 1, day: 1 };
  });
}

/** Missing values stay themselves up to the top, so they never merge with real values below `*`. */
function missingPaths(used: string[], ctx: HierarchyContext, levels: number): string[][] {
  return used.filter((v) => ctx.missingValues.has(v)).map((v) => [v, ...Array<string>(levels).fill(v), '*']);
}

function nonNumeric(column: Column, value: string, ctx: HierarchyContext): VeilError {
  return new VeilError('VALUE_INVALID', `column "${column.name}" has a value that is not a number (intervals hierarchy at ${ctx.field})`, {
    line: firstDataLine(column, value),
    field: column.name,
  });
}

/** Dictionary entries that some row actually uses. */
export function usedValues(column: Column): string[] {
  const seen = new Uint8Array(column.dictionary.length);
  for (let r = 0; r < column.codes.length; r++) seen[column.codes[r]] = 1;
  return column.dictionary.filter((_, code) => seen[code] === 1);
}

/** 1-based line in the CSV of the first row holding `value` (header is line 1). */
export function firstDataLine(column: Column, value: string): number | undefined {
  const code = column.dictionary.indexOf(value);
  if (code < 0) return undefined;
  const row = column.codes.indexOf(code);
  return row < 0 ? undefined : row + 2;
}

/** Every value in the data must be a leaf. Errors give counts and a line, never the value. */
export function checkCoverage(hierarchy: Hierarchy, column: Column, source: string): void {
  const missingCodes = new Set<number>();
  column.dictionary.forEach((value, code) => {
    if (!hierarchy.leafIndex.has(value)) missingCodes.add(code);
  });
  if (missingCodes.size === 0) return;
  let rows = 0;
  let first = -1;
  for (let r = 0; r < column.codes.length; r++) {
    if (missingCodes.has(column.codes[r])) {
      rows++;
      if (first < 0) first = r;
    }
  }
  if (rows === 0) return;
  const distinct = new Set<number>();
  for (let r = 0; r < column.codes.length; r++) if (missingCodes.has(column.codes[r])) distinct.add(column.codes[r]);
  throw new VeilError(
    'HIERARCHY_INVALID',
    `${distinct.size} distinct value${distinct.size === 1 ? '' : 's'} of column "${column.name}" (${rows} row${rows === 1 ? '' : 's'}, first at line ${first + 2}) ${distinct.size === 1 ? 'is' : 'are'} missing from the hierarchy ${source}`,
    { field: column.name },
  );
}
