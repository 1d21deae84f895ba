import { VeilError } from '../errors.js';
import type { Dimension } from './dimensions.js';
import { firstDataLine } from './hierarchy/build.js';
import type { ClassIndex } from './metrics/classes.js';
import type { Column } from './table.js';

/**
 * The person (or other unit: a household, a hospital) each record belongs to, when the
 * policy names an entity column. A patient with five admissions is one person, not five
 * records: k then counts people, and all of a person's records are kept in one class — if
 * they were spread over several, a published pseudonym would link those classes and the
 * intersection of their people could single the person out.
 */
export interface Entities {
  readonly column: string;
  /** Entity of every row, dense: 0 … count − 1. */
  readonly codes: Int32Array;
  readonly count: number;
}

export function encodeEntities(column: Column, missing: ReadonlySet<string>, field: string): Entities {
  let absent = 0;
  let firstText: string | undefined;
  const missingCode = new Uint8Array(column.dictionary.length);
  column.dictionary.forEach((text, code) => {
    if (!missing.has(text)) return;
    missingCode[code] = 1;
    firstText ??= text;
  });
  for (let r = 0; r < column.codes.length; r++) if (missingCode[column.codes[r]]) absent++;
  if (absent > 0) {
    // Whose records these are is unknown: counting them as separate people could overstate k.
    const line = firstDataLine(column, firstText as string);
    throw new VeilError('VALUE_INVALID', `${absent} record${absent === 1 ? ' has' : 's have'} no value in the entity column "${column.name}": every record must name its person`, { field, line });
  }
  return { column: column.name, codes: column.codes, count: column.dictionary.length };
}

/**
 * The dimension Mondrian partitions when records are grouped by entity: every row carries
 * its entity's smallest code, so all rows of an entity are equal on every dimension and no
 * cut can separate them. Labels are still computed from the real codes, so a class's label
 * covers every value its people have.
 */
export function representativeDimension(dim: Dimension, entities: Entities): Dimension {
  const smallest = new Int32Array(entities.count).fill(0x7fffffff);
  const { codes } = dim;
  for (let r = 0; r < codes.length; r++) {
    const e = entities.codes[r];
    if (codes[r] < smallest[e]) smallest[e] = codes[r];
  }
  const representative = new Int32Array(codes.length);
  for (let r = 0; r < codes.length; r++) representative[r] = smallest[entities.codes[r]];
  return { ...dim, codes: representative };
}

/** Distinct entities in each class. */
export function entitiesPerClass(classes: ClassIndex, entities: Entities): Int32Array {
  const people = new Int32Array(classes.count);
  const seen = new Int32Array(entities.count).fill(-1);
  for (let c = 0; c < classes.count; c++) {
    for (let i = classes.starts[c]; i < classes.starts[c + 1]; i++) {
      const e = entities.codes[classes.order[i]];
      if (seen[e] === c) continue;
      seen[e] = c;
      people[c]++;
    }
  }
  return people;
}
