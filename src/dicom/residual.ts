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
 * Residual-PHI check: after de-identification, the output bytes must not contain any
 * identifying value collected from the input (as a whole word). Returns the keywords of the
 * elements whose values were found (never the values: they are PHI).
 */
export function findResidualValues(output: readonly Uint8Array[], identifying: ReadonlyMap<string, string>): string[] {
  // each chunk is searched in place (no copy of the pixel data), plus a window across each seam
  const pieces: Buffer[] = output.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  let longest = 0;
  for (const value of identifying.keys()) longest = Math.max(longest, value.length);
  const margin = longest + 1;
  for (let i = 0; i + 1 < output.length; i++) {
    const left = output[i].subarray(Math.max(0, output[i].length - margin));
    const right = output[i + 1].subarray(0, margin);
    pieces.push(Buffer.concat([left, right]));
  }
  const keywords = new Set<string>();
  for (const [value, keyword] of identifying) if (pieces.some((piece) => containsWord(piece, value))) keywords.add(keyword);
  return [...keywords].sort();
}
