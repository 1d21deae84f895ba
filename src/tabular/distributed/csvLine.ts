/**
 * One CSV record with its line end. A cell is quoted only when it must be (it holds the
 * delimiter, a quote or a line break), like writeCsv; the reader trims cells, so nothing else
 * needs quoting.
 */
/** `cells[0, count)` are the record's (a parser may reuse a longer array). */
export function csvLine(cells: readonly string[], count: number, delimiter: string): string {
  let line = '';
  for (let c = 0; c < count; c++) {
    if (c > 0) line += delimiter;
    const cell = cells[c];
    line += needsQuotes(cell, delimiter) ? `"${cell.replace(/"/g, '""')}"` : cell;
  }
  return `${line}\n`;
}

function needsQuotes(cell: string, delimiter: string): boolean {
  return cell.includes(delimiter) || cell.includes('"') || cell.includes('\n') || cell.includes('\r');
}
