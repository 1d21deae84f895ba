import { readFileSync } from 'node:fs';
import { VeilError } from '../../errors.js';
import { readProblem } from '../../io/readProblem.js';
import { hierarchyFromPaths, type Hierarchy } from './hierarchy.js';

/**
 * Reads an ARX hierarchy CSV unchanged: no header, one row per leaf `leaf;level1;…;*`,
 * `;` or `,` delimited (whichever the first line uses more), LF or CRLF, with or without a
 * final newline, double quotes allowed around cells. Cells are trimmed.
 */
export function readArxHierarchy(file: string, namedBy?: { policyFile?: string; field: string; spec: string }): Hierarchy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    // named by a policy: point at the policy field that names it, as the user wrote it
    if (namedBy) throw new VeilError('FILE_NOT_FOUND', `cannot read the hierarchy file ${JSON.stringify(namedBy.spec)}: ${readProblem(error)}`, { file: namedBy.policyFile, field: namedBy.field });
    throw new VeilError('FILE_NOT_FOUND', `cannot read the hierarchy file: ${readProblem(error)}`, { file });
  }
  const lines = text.split(/\r?\n/);
  const first = lines[0] ?? '';
  const delimiter = (first.match(/;/g)?.length ?? 0) >= (first.match(/,/g)?.length ?? 0) ? ';' : ',';
  const rows: string[][] = [];
  const lineNumbers: number[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    rows.push(splitDelimited(line, delimiter, file, i + 1));
    lineNumbers.push(i + 1);
  });
  return hierarchyFromPaths(rows, { file }, (i) => lineNumbers[i]);
}

/** Splits one line on `delimiter`, honouring double quotes ("" inside quotes is a quote). */
export function splitDelimited(line: string, delimiter: string, file: string, lineNumber: number): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (ch === delimiter) {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  if (quoted) throw new VeilError('HIERARCHY_INVALID', 'unbalanced quote', { file, line: lineNumber });
  cells.push(cell.trim());
  return cells;
}
