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
 * Per 2-byte gram, the head of the chain of (value, offset) entries whose value has that gram
 * at that offset within its first `m` bytes: one table reused by every search in this thread
 * (a search is synchronous), reset after use, so that no 256 kB table is allocated per file.
 */
const heads = new Int32Array(65536).fill(-1);

/**
 * Latin-1 bytes of a searched value, as a plain Uint8Array (one element kind for the hot
 * loops). Most values (institution, names, study and series UIDs, dates) recur in every file of
 * a series: kept per thread, bounded (cleared when full), short values only.
 */
const needleMemo = new Map<string, Uint8Array>();
const MAX_NEEDLES = 20_000;

function needleOf(value: string): Uint8Array {
  const known = needleMemo.get(value);
  if (known) return known;
  const bytes = Buffer.from(value, 'latin1');
  const needle = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (value.length <= 256) {
    if (needleMemo.size >= MAX_NEEDLES) needleMemo.clear();
    needleMemo.set(value, needle);
  }
  return needle;
}

/**
 * Residual-PHI check: after de-identification, the output bytes must not contain any
 * identifying value collected from the input (as a whole word). Returns the keywords of the
 * elements whose values were found (never the values: they are PHI).
 *
 * One pass over the bytes for all values (not one `indexOf` pass per value). With `m` the
 * length of the shortest value, every occurrence of a value covers one of the positions
 * 0, m−1, 2(m−1)…: only those positions are looked at (a third of the bytes for m = 4), and
 * their 2-byte gram leads to the values that have it within their first m bytes. Same hits as
 * `containsWord` per value.
 */
export function findResidualValues(output: readonly Uint8Array[], identifying: ReadonlyMap<string, string>): string[] {
  const needles: Uint8Array[] = [];
  const keywordOf: string[] = [];
  const short: number[] = [];
  let longest = 0;
  let shortest = Infinity;
  for (const [value, keyword] of identifying) {
    const bytes = needleOf(value);
    if (bytes.length === 0) continue;
    const n = needles.length;
    needles.push(bytes);
    keywordOf.push(keyword);
    longest = Math.max(longest, bytes.length);
    if (bytes.length < 2) short.push(n);
    else shortest = Math.min(shortest, bytes.length);
  }
  // chain entries: value index and offset of the gram in it
  const entryNeedle: number[] = [];
  const entryOffset: number[] = [];
  const entryNext: number[] = [];
  const keys: number[] = [];
  const m = Number.isFinite(shortest) ? shortest : 2;
  for (let n = 0; n < needles.length; n++) {
    const needle = needles[n];
    if (needle.length < 2) continue;
    for (let o = 0; o + 1 < m; o++) {
      const key = needle[o] | (needle[o + 1] << 8);
      if (heads[key] < 0) keys.push(key);
      entryNeedle.push(n);
      entryOffset.push(o);
      entryNext.push(heads[key]);
      heads[key] = entryNeedle.length - 1;
    }
  }
  // each chunk is searched in place (no copy of the pixel data), plus a window across each seam
  const pieces: Uint8Array[] = output.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  const margin = longest + 1;
  for (let i = 0; i + 1 < output.length; i++) {
    const left = output[i].subarray(Math.max(0, output[i].length - margin));
    const right = output[i + 1].subarray(0, margin);
    const seam = Buffer.concat([left, right]);
    pieces.push(new Uint8Array(seam.buffer, seam.byteOffset, seam.byteLength));
  }
  const found = new Uint8Array(needles.length);
  const chains = { needle: entryNeedle, offset: entryOffset, next: entryNext };
  try {
    if (entryNeedle.length > 0) for (const piece of pieces) scanPiece(piece, m - 1, needles, chains, found);
  } finally {
    for (const key of keys) heads[key] = -1;
  }
  for (const n of short) {
    if (pieces.some((piece) => containsWord(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength), Buffer.from(needles[n]).toString('latin1')))) found[n] = 1;
  }
  const keywords = new Set<string>();
  for (let n = 0; n < needles.length; n++) if (found[n]) keywords.add(keywordOf[n]);
  return [...keywords].sort();
}

/** Marks in `found` every value (of ≥ 2 bytes, chained in `heads`) that occurs in `bytes` as a whole word, looking every `step` bytes. */
function scanPiece(
  bytes: Uint8Array,
  step: number,
  needles: readonly Uint8Array[],
  chains: { needle: readonly number[]; offset: readonly number[]; next: readonly number[] },
  found: Uint8Array,
): void {
  const end = bytes.length - 1;
  for (let p = 0; p < end; p += step) {
    let e = heads[bytes[p] | (bytes[p + 1] << 8)];
    while (e >= 0) {
      const n = chains.needle[e];
      if (!found[n] && matchesAt(bytes, p - chains.offset[e], needles[n])) found[n] = 1;
      e = chains.next[e];
    }
  }
}

function matchesAt(bytes: Uint8Array, at: number, needle: Uint8Array): boolean {
  const length = needle.length;
  if (at < 0 || at + length > bytes.length) return false;
  for (let k = 0; k < length; k++) if (bytes[at + k] !== needle[k]) return false;
  if (isWordByte(needle[0]) && at > 0 && isWordByte(bytes[at - 1])) return false;
  if (isWordByte(needle[length - 1]) && isWordByte(bytes[at + length])) return false;
  return true;
}
