import { createReadStream } from 'node:fs';

/**
 * The line of a CSV file where its quoting first breaks: a quote inside a field that did
 * not start with one, text right after a closing quote, or a quote still open at the end
 * of the file (then the line where it opened). Used only after the parser failed: the
 * streaming parser reports errors before the rows it has read reach us, so it cannot say
 * where. Undefined when the quoting is sound (the problem is elsewhere, e.g. encoding).
 */
export async function locateQuoteError(file: string, delimiter: string): Promise<number | undefined> {
  let line = 1;
  let inQuotes = false;
  let openedAt = 0;
  let fieldStart = true;
  let afterClosing = false;
  let pendingQuote = false;
  const separator = delimiter.charCodeAt(0);
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    const text = chunk as string;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inQuotes) {
        if (pendingQuote) {
          pendingQuote = false;
          if (c === 34) continue; // "" inside quotes: an escaped quote
          inQuotes = false;
          afterClosing = true;
        } else if (c === 34) {
          pendingQuote = true;
          continue;
        } else {
          if (c === 10) line++;
          continue;
        }
      }
      if (c === 10) {
        line++;
        fieldStart = true;
        afterClosing = false;
      } else if (c === separator) {
        fieldStart = true;
        afterClosing = false;
      } else if (c === 13 || c === 32 || c === 9) {
        // line ends and white space around fields (trimmed by the reader)
      } else if (c === 34) {
        if (!fieldStart || afterClosing) return line;
        inQuotes = true;
        openedAt = line;
        fieldStart = false;
      } else {
        if (afterClosing) return line;
        fieldStart = false;
      }
    }
  }
  return inQuotes && !pendingQuote ? openedAt : undefined;
}
