/**
 * Encapsulated pixel data (PS3.5 A.4): an item stream of a Basic Offset Table then
 * fragments. Frames are found from the offset table, else one fragment per frame when the
 * counts agree, else by the start-of-image marker of each codec.
 */
const ITEM = 0xe000fffe;

export function parseItems(stream: Uint8Array): { offsets: number[]; fragments: { start: number; bytes: Uint8Array }[] } {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const items: { start: number; bytes: Uint8Array }[] = [];
  let at = 0;
  while (at + 8 <= stream.length) {
    const tag = view.getUint32(at, true);
    const length = view.getUint32(at + 4, true);
    if (tag !== ITEM) break; // sequence delimiter or trailing padding
    const end = Math.min(stream.length, at + 8 + length);
    items.push({ start: at, bytes: stream.subarray(at + 8, end) });
    at = end;
  }
  if (items.length === 0) return { offsets: [], fragments: [] };
  const bot = items[0].bytes;
  const botView = new DataView(bot.buffer, bot.byteOffset, bot.byteLength);
  const offsets = Array.from({ length: Math.floor(bot.length / 4) }, (_, i) => botView.getUint32(i * 4, true));
  // fragment start positions relative to the first fragment's item tag (what BOT offsets count)
  const first = items.length > 1 ? items[1].start : 0;
  return { offsets, fragments: items.slice(1).map((item) => ({ start: item.start - first, bytes: item.bytes })) };
}

function startsFrame(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return true; // JPEG, JPEG-LS SOI
  if (bytes[0] === 0xff && bytes[1] === 0x4f && bytes[2] === 0xff && bytes[3] === 0x51) return true; // J2K SOC+SIZ
  return bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 0x0c; // JP2 box
}

/** The compressed bytes of each frame. Throws when the frames cannot be told apart. */
export function splitFrames(stream: Uint8Array, frames: number): Uint8Array[] {
  const { offsets, fragments } = parseItems(stream);
  if (fragments.length === 0) throw new Error('no fragments in encapsulated pixel data');
  const concat = (parts: { bytes: Uint8Array }[]): Uint8Array => {
    if (parts.length === 1) return parts[0].bytes;
    const out = new Uint8Array(parts.reduce((n, p) => n + p.bytes.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part.bytes, at);
      at += part.bytes.length;
    }
    return out;
  };
  if (frames === 1) return [concat(fragments)];
  if (fragments.length === frames) return fragments.map((f) => f.bytes);
  if (offsets.length === frames) {
    return offsets.map((offset, i) => {
      const end = i + 1 < offsets.length ? offsets[i + 1] : Infinity;
      return concat(fragments.filter((f) => f.start >= offset && f.start < end));
    });
  }
  const groups: { bytes: Uint8Array }[][] = [];
  for (const fragment of fragments) {
    if (groups.length === 0 || startsFrame(fragment.bytes)) groups.push([fragment]);
    else groups[groups.length - 1].push(fragment);
  }
  if (groups.length !== frames) throw new Error('cannot split the fragments into frames');
  return groups.map(concat);
}

/** An item stream with a Basic Offset Table and one (even-length) fragment per frame. */
export function encapsulate(frames: readonly Uint8Array[]): Uint8Array {
  const padded = frames.map((frame) => (frame.length % 2 === 1 ? concatBytes(frame, new Uint8Array(1)) : frame));
  const botLength = 4 * padded.length;
  const total = 8 + botLength + padded.reduce((n, f) => n + 8 + f.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, ITEM, true);
  view.setUint32(4, botLength, true);
  let offset = 0;
  let at = 8 + botLength;
  padded.forEach((frame, i) => {
    view.setUint32(8 + 4 * i, offset, true);
    view.setUint32(at, ITEM, true);
    view.setUint32(at + 4, frame.length, true);
    out.set(frame, at + 8);
    at += 8 + frame.length;
    offset += 8 + frame.length;
  });
  return out;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
