/** A byte that continues a word: a match inside a longer word ("MARY" in "PRIMARY") is not a hit. */
function isWordByte(byte: number | undefined): boolean {
  if (byte === undefined) return false;
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x5f || byte >= 0x80;
}

/** Whether `value` occurs in `haystack` as a whole word (not preceded or followed by a letter, digit or "_"). */
export function containsWord(haystack: Buffer, value: string): boolean {
  const needle = Buffer.from(value, 'latin1');
  const checkStart = isWordByte(needle[0]);
  const checkEnd = isWordByte(needle[needle.length - 1]);
  let from = 0;
  for (;;) {
    const index = haystack.indexOf(needle, from);
    if (index < 0) return false;
    const before = index > 0 ? haystack[index - 1] : undefined;
    const after = haystack[index + needle.length];
    if ((!checkStart || !isWordByte(before)) && (!checkEnd || !isWordByte(after))) return true;
    from = index + 1;
  }
}

/**
 * Heads of the 2-byte-prefix chains of the values being searched: one table reused by every
 * search in this thread (a search is synchronous), reset after use, so that no 256 kB table
 * is allocated per file.
 */
const heads = new Int32Array(65536).fill(-1);
/** Which first bytes and which 2-byte prefixes start a value: small tables that stay in cache, checked before `heads`. */
const firstBytes = new Uint8Array(256);
const pairs = new Uint8Array(65536);

/**
 * Residual-PHI check: after de-identification, the output bytes must not contain any
 * identifying value collected from the input (as a whole word). Returns the keywords of the
 * elements whose values were found (never the values: they are PHI).
 *
 * One pass over the bytes for all values (not one `indexOf` pass per value): every value is
 * chained under its first two bytes, and only positions whose two bytes start some value are
 * compared. Same hits as `containsWord` per value.
 */
export function findResidualValues(output: readonly Uint8Array[], identifying: ReadonlyMap<string, string>): string[] {
  const needles: Buffer[] = [];
  const keywordOf: string[] = [];
  const short: number[] = [];
  let longest = 0;
  for (const [value, keyword] of identifying) {
    const needle = Buffer.from(value, 'latin1');
    if (needle.length === 0) continue;
    needles.push(needle);
    keywordOf.push(keyword);
    longest = Math.max(longest, needle.length);
  }
  const next = new Int32Array(needles.length).fill(-1);
  const keys: number[] = [];
  for (let n = 0; n < needles.length; n++) {
    const needle = needles[n];
    if (needle.length < 2) {
      short.push(n);
      continue;
    }
    const key = needle[0] | (needle[1] << 8);
    if (heads[key] < 0) keys.push(key);
    firstBytes[needle[0]] = 1;
    pairs[key] = 1;
    next[n] = heads[key];
    heads[key] = n;
  }
  // each chunk is searched in place (no copy of the pixel data), plus a window across each seam
  const pieces: Uint8Array[] = [...output];
  const margin = longest + 1;
  for (let i = 0; i + 1 < output.length; i++) {
    const left = output[i].subarray(Math.max(0, output[i].length - margin));
    const right = output[i + 1].subarray(0, margin);
    pieces.push(Buffer.concat([left, right]));
  }
  const found = new Uint8Array(needles.length);
  try {
    for (const piece of pieces) scanPiece(piece, needles, next, found);
  } finally {
    for (const key of keys) {
      heads[key] = -1;
      pairs[key] = 0;
      firstBytes[key & 0xff] = 0;
    }
  }
  for (const n of short) {
    if (pieces.some((piece) => containsWord(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength), needles[n].toString('latin1')))) found[n] = 1;
  }
  const keywords = new Set<string>();
  for (let n = 0; n < needles.length; n++) if (found[n]) keywords.add(keywordOf[n]);
  return [...keywords].sort();
}

/** Marks in `found` every needle (of ≥ 2 bytes, chained in `heads`/`next`) that occurs in `bytes` as a whole word. */
function scanPiece(bytes: Uint8Array, needles: readonly Buffer[], next: Int32Array, found: Uint8Array): void {
  const end = bytes.length - 1;
  for (let i = 0; i < end; i++) {
    if (firstBytes[bytes[i]] === 0) continue;
    const key = bytes[i] | (bytes[i + 1] << 8);
    if (pairs[key] === 0) continue;
    let n = heads[key];
    while (n >= 0) {
      if (!found[n] && matchesAt(bytes, i, needles[n])) found[n] = 1;
      n = next[n];
    }
  }
}

function matchesAt(bytes: Uint8Array, at: number, needle: Buffer): boolean {
  const length = needle.length;
  if (at + length > bytes.length) return false;
  for (let k = 2; k < length; k++) if (bytes[at + k] !== needle[k]) return false;
  if (isWordByte(needle[0]) && at > 0 && isWordByte(bytes[at - 1])) return false;
  if (isWordByte(needle[length - 1]) && isWordByte(bytes[at + length])) return false;
  return true;
}
