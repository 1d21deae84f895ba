import { describe, expect, it } from 'vitest';
import { CsvParser, CsvSyntaxError } from '../../../src/tabular/csv/parse.js';
import { SeededRandom } from '../../../src/demo/random.js';

interface Parsed {
  records: { cells: string[]; line: number }[];
  stats: CsvParser['stats'];
}

/** Parses `text` fed in the given chunks (lengths), as the reader feeds a stream. */
function parse(text: string, cuts: number[] = [], maxCellBytes = 1 << 30): Parsed {
  const records: Parsed['records'] = [];
  const parser = new CsvParser({ delimiter: ',', maxCellBytes, onRecord: (cells, count, line) => records.push({ cells: cells.slice(0, count), line }) });
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    parser.write(text.slice(at, cut));
    at = cut;
  }
  parser.end();
  return { records, stats: parser.stats };
}

function syntaxError(run: () => unknown): CsvSyntaxError {
  try {
    run();
  } catch (error) {
    if (error instanceof CsvSyntaxError) return error;
    throw error;
  }
  throw new Error('expected a CsvSyntaxError');
}

// Quotes, "" escapes, quoted CR / LF / CRLF, CRLF and lone CR record ends, blank lines,
// white space around cells, an empty last cell, no final line end.
const TRICKY = 'a, b ,c\r\n"x,1"," say ""hi""\r\nthere ",\r\n\r\n  \n"q""", "r\rs" ,"t"\rlast,"",  z';
const EXPECTED = [
  { cells: ['a', 'b', 'c'], line: 1 },
  { cells: ['x,1', 'say "hi"\r\nthere', ''], line: 2 },
  { cells: ['q"', 'r\rs', 't'], line: 6 },
  { cells: ['last', '', 'z'], line: 8 },
];

describe('CsvParser', () => {
  it('reads quotes, escapes, line ends, blank lines and trimmed cells, with the line each record starts on', () => {
    expect(parse(TRICKY).records).toEqual(EXPECTED);
  });

  it('gives the same records and lines wherever the chunks are cut (every single cut, then random multi-cuts)', () => {
    for (let cut = 0; cut <= TRICKY.length; cut++) expect(parse(TRICKY, [cut]).records).toEqual(EXPECTED);
    const random = new SeededRandom(7);
    for (let trial = 0; trial < 300; trial++) {
      const cuts = Array.from({ length: random.int(2, 12) }, () => random.int(0, TRICKY.length)).sort((a, b) => a - b);
      expect(parse(TRICKY, cuts).records).toEqual(EXPECTED);
    }
  });

  it('looks at every character once, however the cell is split: the work is linear in the input', () => {
    for (const mb of [1, 2, 4]) {
      const cell = 'ab"",\ncd'.repeat((mb * 1024 * 1024) / 8);
      const text = `id,note\n1,"${cell}"\n`;
      const cuts = Array.from({ length: Math.floor(text.length / 65536) }, (_, i) => (i + 1) * 65536);
      const { records, stats } = parse(text, cuts);
      expect(records[1].cells[1]).toBe(cell.replaceAll('""', '"'));
      expect(stats.chunks).toBe(cuts.length + 1);
      expect(stats.charsScanned).toBe(text.length);
      // what is carried between chunks is the cell itself, once: never the record read again
      expect(stats.charsCarried).toBeLessThanOrEqual(cell.length);
    }
  });

  it('names the line of a quote followed by text, and the line where an unclosed quote opened', () => {
    const after = syntaxError(() => parse('a,b\n1,2\n"3"x,4\n'));
    expect([after.kind, after.line, after.fieldIndex]).toEqual(['after-quote', 3, 0]);
    const open = syntaxError(() => parse('a,b\n1,"two\nlines"\n3,"open\n4,5\n'));
    expect([open.kind, open.line, open.fieldIndex]).toEqual(['unclosed-quote', 4, 1]);
  });

  it('refuses a cell over the limit in UTF-8 bytes, early, naming its line and field', () => {
    expect(parse('a,b\n1,xxxx\n', [], 4).records[1].cells).toEqual(['1', 'xxxx']);
    const chars = syntaxError(() => parse('a,b\n1,xxxxx\n', [], 4));
    expect([chars.kind, chars.line, chars.fieldIndex]).toEqual(['cell-too-large', 2, 1]);
    // 2 characters, 6 bytes
    const bytes = syntaxError(() => parse('a,b\n"\n",東京\n', [], 4));
    expect([bytes.kind, bytes.line, bytes.fieldIndex]).toEqual(['cell-too-large', 3, 1]);
    // a huge cell is refused within the chunk that crosses the limit, not after reading it all
    const big = `a\n"${'x'.repeat(1_000_000)}"\n`;
    const cuts = Array.from({ length: 15 }, (_, i) => (i + 1) * 65536);
    let fed = 0;
    const parser = new CsvParser({ delimiter: ',', maxCellBytes: 100_000, onRecord: () => undefined });
    const early = syntaxError(() => {
      for (const cut of [...cuts, big.length]) {
        parser.write(big.slice(fed, cut));
        fed = cut;
      }
    });
    expect(early.kind).toBe('cell-too-large');
    expect(fed).toBeLessThan(200_000);
  });
});
