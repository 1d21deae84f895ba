/**
 * A push-based RFC 4180 parser: text goes in chunk by chunk, records come out. Every character
 * is looked at once and a cell that spans chunks is kept as a list of pieces joined once at its
 * end, so the work is linear in the input however long a cell is (fast-csv re-parsed the whole
 * pending record at every chunk: a 4 MB quoted cell took seconds, a 50 MB one minutes).
 *
 * Behaviour (the README's): quotes with "" as an escaped quote, CRLF / LF / CR line ends, cells
 * trimmed of surrounding white space (quoted ones too), blank records skipped, white space
 * allowed around a quoted cell; a quote inside an unquoted cell is an ordinary character.
 */

/** Why a record could not be read; the reader turns it into a VeilError naming the file. */
export class CsvSyntaxError extends Error {
  constructor(
    readonly kind: 'after-quote' | 'unclosed-quote' | 'cell-too-large',
    readonly line: number,
    /** 0-based field index of the cell concerned. */
    readonly fieldIndex: number,
  ) {
    super(kind);
    this.name = 'CsvSyntaxError';
  }
}

/** Counts that show the parser's work is linear in its input (tests assert on them, not on time). */
export interface CsvParseStats {
  /** Chunks fed in. */
  chunks: number;
  /** Characters examined: each character of the input exactly once. */
  charsScanned: number;
  /** Characters held over from one chunk to the next (pieces of cells that span chunks). */
  charsCarried: number;
}

export interface CsvParserOptions {
  delimiter: string;
  /** Largest cell in UTF-8 bytes; a larger one is a `cell-too-large` error. */
  maxCellBytes: number;
  /**
   * A record with at least one non-empty cell: its cells are `cells[0, count)`. The array is
   * reused (so a wide table does not reallocate it per record): copy what you keep.
   */
  onRecord: (cells: readonly string[], count: number, line: number) => void;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;

const enum State {
  /** Before a cell: leading white space is skipped to see whether a quote opens it. */
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted cell: the next character says whether it was "" or the end. */
  QuoteInQuoted,
  /** After the closing quote: only white space, a delimiter or a line end may follow. */
  AfterQuote,
}

export class CsvParser {
  readonly stats: CsvParseStats = { chunks: 0, charsScanned: 0, charsCarried: 0 };
  private readonly separator: number;
  private readonly delimiter: string;
  private readonly maxCellBytes: number;
  private readonly onRecord: CsvParserOptions['onRecord'];
  private state = State.FieldStart;
  private readonly cells: string[] = [];
  private cellCount = 0;
  private nonEmpty = false;
  /** Pieces of the current cell from earlier chunks or around "" escapes. */
  private pieces: string[] = [];
  private piecesLength = 0;
  /** Line being read (1-based), the line the current record and cell started on. */
  private line = 1;
  private recordLine = 1;
  private cellLine = 1;
  /** The last chunk ended with CR: an LF opening the next one belongs to it. */
  private pendingCR = false;
  /** The last chunk ended with CR inside a quoted cell: counted once the next chunk shows it is not CRLF. */
  private quotedCR = false;

  constructor(options: CsvParserOptions) {
    this.separator = options.delimiter.charCodeAt(0);
    this.delimiter = options.delimiter.charAt(0);
    this.maxCellBytes = options.maxCellBytes;
    this.onRecord = options.onRecord;
  }

  /** Parses one chunk of text; throws CsvSyntaxError. */
  write(text: string): void {
    if (text.length === 0) return;
    this.stats.chunks++;
    this.stats.charsScanned += text.length;
    const sep = this.separator;
    let i = 0;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (text.charCodeAt(0) === LF) i = 1;
    }
    if (this.quotedCR) {
      this.quotedCR = false;
      if (text.charCodeAt(0) !== LF) this.line++;
    }
    let start = i; // start of the current cell's text in this chunk (Unquoted, Quoted)
    const n = text.length;
    // Next delimiter, LF and CR at or after the scan position (n: none in this chunk); -1: not searched yet.
    let nextSep = -1;
    let nextLF = -1;
    let nextCR = -1;
    while (i < n) {
      switch (this.state) {
        case State.FieldStart: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.cellLine = this.line;
            start = i + 1;
          } else if (c === sep) {
            this.endCell('');
          } else if (c === LF || c === CR) {
            this.endCell('');
            i = this.endLine(text, i);
            this.endRecord();
            continue;
          } else if (!isSpace(c)) {
            this.state = State.Unquoted;
            this.cellLine = this.line;
            start = i;
          }
          i++;
          break;
        }
        case State.Unquoted: {
          // The cell ends at the nearest delimiter or line end. Each is found with indexOf (native,
          // from the first call) and remembered until the scan passes it, so every position of
          // the chunk is searched for each of the three at most once.
          if (nextSep < i) nextSep = indexOrEnd(text, this.delimiter, i);
          if (nextLF < i) nextLF = indexOrEnd(text, '\n', i);
          if (nextCR < i) nextCR = indexOrEnd(text, '\r', i);
          i = Math.min(nextSep, nextLF, nextCR);
          if (i === n) break;
          const c = text.charCodeAt(i);
          this.endCell(this.take(text, start, i).trim());
          if (c === sep) {
            this.state = State.FieldStart;
            i++;
          } else {
            i = this.endLine(text, i);
            this.endRecord();
          }
          break;
        }
        case State.Quoted: {
          let c = text.charCodeAt(i);
          while (c !== QUOTE) {
            if (c === LF) this.line++;
            else if (c === CR) {
              // CRLF counts once, at its LF; a CR ending the chunk waits for the next one
              if (i + 1 === n) this.quotedCR = true;
              else if (text.charCodeAt(i + 1) !== LF) this.line++;
            }
            if (++i === n) break;
            c = text.charCodeAt(i);
          }
          if (i === n) break;
          this.keep(text, start, i);
          this.state = State.QuoteInQuoted;
          i++;
          break;
        }
        case State.QuoteInQuoted: {
          if (text.charCodeAt(i) === QUOTE) {
            // "" is one quote: keep it and go on with the cell
            this.state = State.Quoted;
            start = i;
            i++;
          } else {
            this.state = State.AfterQuote;
          }
          break;
        }
        case State.AfterQuote: {
          const c = text.charCodeAt(i);
          if (c === sep || c === LF || c === CR) {
            this.endCell(this.joinPieces().trim());
            if (c === sep) {
              this.state = State.FieldStart;
              i++;
            } else {
              i = this.endLine(text, i);
              this.endRecord();
            }
          } else if (isSpace(c)) {
            i++;
          } else {
            throw new CsvSyntaxError('after-quote', this.line, this.cellCount);
          }
          break;
        }
      }
    }
    // Whatever the current cell has read so far in this chunk is carried over to the next.
    if (this.state === State.Unquoted || this.state === State.Quoted) {
      this.keep(text, start, n);
      this.stats.charsCarried += n - start;
    }
  }

  /** The input is complete: ends the last record; throws CsvSyntaxError on an open quote. */
  end(): void {
    switch (this.state) {
      case State.Quoted:
        throw new CsvSyntaxError('unclosed-quote', this.cellLine, this.cellCount);
      case State.Unquoted:
        this.endCell(this.joinPieces().trim());
        break;
      case State.QuoteInQuoted:
      case State.AfterQuote:
        this.endCell(this.joinPieces().trim());
        break;
      case State.FieldStart:
        // a delimiter just before the end of the file still opens one last, empty cell
        if (this.cellCount > 0) this.endCell('');
        break;
    }
    if (this.cellCount > 0) this.endRecord();
  }

  /** Index after the line end at `i` (CR, LF or CRLF); counts the line. */
  private endLine(text: string, i: number): number {
    this.line++;
    if (text.charCodeAt(i) === CR) {
      if (i + 1 === text.length) {
        this.pendingCR = true;
        return i + 1;
      }
      if (text.charCodeAt(i + 1) === LF) return i + 2;
    }
    return i + 1;
  }

  /** The cell's text: earlier pieces plus text[start, end). */
  private take(text: string, start: number, end: number): string {
    if (this.pieces.length === 0) {
      this.checkSize(end - start);
      return text.slice(start, end);
    }
    this.keep(text, start, end);
    return this.joinPieces();
  }

  private keep(text: string, start: number, end: number): void {
    if (end <= start) return;
    this.pieces.push(text.slice(start, end));
    this.piecesLength += end - start;
    this.checkSize(this.piecesLength);
  }

  private joinPieces(): string {
    const cell = this.pieces.length === 1 ? this.pieces[0] : this.pieces.join('');
    this.pieces = [];
    this.piecesLength = 0;
    return cell;
  }

  /**
   * Refuses a cell over the limit as soon as it is known: a UTF-16 unit is at least one UTF-8
   * byte, so `chars` alone may prove it; near the limit the exact byte count is taken once.
   */
  private checkSize(chars: number): void {
    if (chars > this.maxCellBytes) throw new CsvSyntaxError('cell-too-large', this.cellLine, this.cellCount);
  }

  private endCell(cell: string): void {
    if (cell.length * 3 > this.maxCellBytes && Buffer.byteLength(cell, 'utf8') > this.maxCellBytes) {
      throw new CsvSyntaxError('cell-too-large', this.cellLine, this.cellCount);
    }
    if (cell !== '') this.nonEmpty = true;
    if (this.cellCount === this.cells.length) this.cells.push(cell);
    else this.cells[this.cellCount] = cell;
    this.cellCount++;
    this.state = State.FieldStart;
  }

  private endRecord(): void {
    if (this.nonEmpty) this.onRecord(this.cells, this.cellCount, this.recordLine);
    this.cellCount = 0;
    this.nonEmpty = false;
    this.state = State.FieldStart;
    this.recordLine = this.line;
  }
}

/** Position of `char` in `text` from `from` on, or the text's length when there is none. */
function indexOrEnd(text: string, char: string, from: number): number {
  const at = text.indexOf(char, from);
  return at < 0 ? text.length : at;
}

/** White space as the regex \s sees it, minus line ends (handled as record ends). */
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || (c >= 0xa0 && /\s/.test(String.fromCharCode(c)));
}
