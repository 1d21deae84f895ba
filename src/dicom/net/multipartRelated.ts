import { randomBytes } from 'node:crypto';

/**
 * multipart/related (RFC 2387 on RFC 2046 §5.1), as DICOMweb uses it: WADO-RS answers and
 * STOW-RS requests carry one Part-10 instance per part. Only what DICOMweb needs: a boundary
 * from the Content-Type, parts split on it, each part's own headers kept (lower-cased names).
 */
export interface MultipartPart {
  headers: Map<string, string>;
  body: Uint8Array;
}

export class MultipartError extends Error {}

/** The `boundary` parameter of a multipart Content-Type (quoted or not); undefined if absent. */
export function boundaryOf(contentType: string): string | undefined {
  const [type, ...params] = splitParams(contentType);
  if (!type?.toLowerCase().startsWith('multipart/')) return undefined;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    const value = unquote(param.slice(eq + 1).trim());
    return value.length > 0 && value.length <= 70 ? value : undefined;
  }
  return undefined;
}

/** The value of one parameter of a Content-Type (`type` of multipart/related, say), unquoted. */
export function contentTypeParam(contentType: string, name: string): string | undefined {
  for (const param of splitParams(contentType).slice(1)) {
    const eq = param.indexOf('=');
    if (eq >= 0 && param.slice(0, eq).trim().toLowerCase() === name) return unquote(param.slice(eq + 1).trim());
  }
  return undefined;
}

/** Splits on `;` outside double quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  out.push(current.trim());
  return out;
}

function unquote(value: string): string {
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

/**
 * Parts of a multipart body. Part bodies are views into `body` (no copy). Throws
 * MultipartError when the body does not follow the boundary (no first delimiter, a part
 * without a header block, no closing delimiter).
 */
export function readMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const dash = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // the first delimiter may open the body or follow a preamble
  let at = buffer.subarray(0, dash.length).equals(dash) ? 0 : buffer.indexOf(delimiter);
  if (at < 0) throw new MultipartError('no multipart boundary in the body');
  at += at === 0 && buffer[0] === 0x2d ? dash.length : delimiter.length;
  const parts: MultipartPart[] = [];
  for (;;) {
    if (buffer[at] === 0x2d && buffer[at + 1] === 0x2d) return parts; // closing delimiter
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) throw new MultipartError('the body ends inside a delimiter line');
    const headerEnd = buffer.indexOf('\r\n\r\n', lineEnd);
    // a part with no headers has its blank line right after the delimiter line
    const headersBlock = headerEnd === lineEnd ? '' : headerEnd < 0 ? undefined : buffer.toString('latin1', lineEnd + 2, headerEnd);
    if (headersBlock === undefined) throw new MultipartError(`part ${parts.length + 1} has no header block`);
    const start = headerEnd + 4;
    const end = buffer.indexOf(delimiter, start);
    if (end < 0) throw new MultipartError(`part ${parts.length + 1} is not closed by the boundary`);
    parts.push({ headers: parseHeaders(headersBlock), body: buffer.subarray(start, end) });
    at = end + delimiter.length;
  }
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** A boundary that cannot occur in binary content by chance (random, 32 hex digits). */
export function newBoundary(): string {
  return `veil-${randomBytes(16).toString('hex')}`;
}

/**
 * The chunks of a multipart body with one part per body, each with the given Content-Type.
 * Chunks, not one buffer: the parts are not copied, and a Blob of them (file-backed parts
 * from fs.openAsBlob included) is sent by fetch as is.
 */
export function writeMultipart<T extends Uint8Array | Blob>(bodies: readonly T[], partType: string, boundary: string): (T | Buffer)[] {
  const chunks: (T | Buffer)[] = [];
  for (const body of bodies) {
    // a Blob is not searched: the caller's boundary is random (newBoundary), 128 bits
    if (body instanceof Uint8Array && Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes(`\r\n--${boundary}`)) throw new MultipartError('a part contains the boundary');
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${partType}\r\n\r\n`, 'latin1'), body, Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return chunks;
}

/**
 * The same parts as readMultipart, read from a stream as it arrives: only the part being read
 * (and one chunk) is held in memory, so a study of many instances costs one instance of RAM.
 */
export async function* readMultipartStream(chunks: AsyncIterable<Uint8Array>, boundary: string): AsyncGenerator<MultipartPart> {
  const dash = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let buffer = Buffer.alloc(0);
  let state: 'preamble' | 'delimiter-line' | 'headers' | 'body' | 'done' = 'preamble';
  let headers = new Map<string, string>();
  let body: Buffer[] = [];
  let count = 0;
  const iterator = chunks[Symbol.asyncIterator]();
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      return false;
    }
    buffer = buffer.length === 0 ? Buffer.from(next.value) : Buffer.concat([buffer, next.value]);
    return true;
  };
  while (state !== 'done') {
    if (state === 'preamble') {
      if (buffer.length >= dash.length && buffer.subarray(0, dash.length).equals(dash)) {
        buffer = buffer.subarray(dash.length);
        state = 'delimiter-line';
        continue;
      }
      const at = buffer.indexOf(delimiter);
      if (at >= 0) {
        buffer = buffer.subarray(at + delimiter.length);
        state = 'delimiter-line';
      } else if (!(await more())) throw new MultipartError('no multipart boundary in the body');
      continue;
    }
    if (state === 'delimiter-line') {
      if (buffer.length >= 2 && buffer[0] === 0x2d && buffer[1] === 0x2d) {
        state = 'done';
        continue;
      }
      const lineEnd = buffer.indexOf('\r\n');
      if (lineEnd >= 0) {
        buffer = buffer.subarray(lineEnd + 2);
        state = 'headers';
      } else if (!(await more())) throw new MultipartError('the body ends inside a delimiter line');
      continue;
    }
    if (state === 'headers') {
      // a part with no headers: the blank line comes at once
      const blank = buffer.subarray(0, 2).equals(Buffer.from('\r\n')) ? -2 : buffer.indexOf('\r\n\r\n');
      if (blank === -2 || blank >= 0) {
        headers = parseHeaders(blank === -2 ? '' : buffer.toString('latin1', 0, blank));
        buffer = buffer.subarray(blank === -2 ? 2 : blank + 4);
        state = 'body';
      } else if (!(await more())) throw new MultipartError(`part ${count + 1} has no header block`);
      continue;
    }
    const end = buffer.indexOf(delimiter);
    if (end >= 0) {
      count++;
      yield { headers, body: Buffer.concat([...body, buffer.subarray(0, end)]) };
      body = [];
      buffer = buffer.subarray(end + delimiter.length);
      state = 'delimiter-line';
    } else {
      // set aside what cannot hold the start of a delimiter, so each byte is searched and copied once
      const keep = delimiter.length - 1;
      if (buffer.length > keep) {
        body.push(buffer.subarray(0, buffer.length - keep));
        buffer = buffer.subarray(buffer.length - keep);
      }
      if (!(await more())) throw new MultipartError(`part ${count + 1} is not closed by the boundary`);
    }
  }
}
