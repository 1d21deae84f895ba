/** Text and number conversions of raw element values. */

/** A string value without its trailing padding (space or NUL), bytes read as latin1. */
export function textValue(value: Uint8Array): string {
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0x20 || value[end - 1] === 0x00)) end--;
  // values read from a file are Buffer views already: decoding in place spares a wrapper per value
  if (Buffer.isBuffer(value)) return value.toString('latin1', 0, end);
  return Buffer.from(value.buffer, value.byteOffset, end).toString('latin1');
}

/** Encodes text as latin1 bytes (padding is added by the writer). */
export function encodeText(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

/** The values of a multi-valued string element, split on backslash. */
export function textValues(value: Uint8Array): string[] {
  const text = textValue(value);
  return text === '' ? [] : text.split('\\').map((v) => v.trim());
}

export const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

/** Reads an unsigned integer element (US or UL) in the data set's byte order. */
export function uintValue(value: Uint8Array | undefined, vr: string, littleEndian: boolean): number | undefined {
  if (!value) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (vr === 'US' && value.length >= 2) return view.getUint16(0, littleEndian);
  if (vr === 'UL' && value.length >= 4) return view.getUint32(0, littleEndian);
  if (vr === 'SS' && value.length >= 2) return view.getInt16(0, littleEndian);
  if (vr === 'SL' && value.length >= 4) return view.getInt32(0, littleEndian);
  if (TEXT_VRS.has(vr)) {
    const n = Number(textValue(value).split('\\')[0]);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const SWAP_WIDTH: Readonly<Record<string, number>> = { US: 2, SS: 2, OW: 2, AT: 2, UL: 4, SL: 4, FL: 4, OL: 4, OF: 4, FD: 8, OD: 8, SV: 8, UV: 8, OV: 8 };

/** Byte-swaps a binary value (big ↔ little endian) by its VR's word size; text is unchanged. */
export function swapValue(value: Uint8Array, vr: string): Uint8Array {
  const width = SWAP_WIDTH[vr];
  if (!width) return value;
  const out = new Uint8Array(value.length);
  for (let i = 0; i + width <= value.length; i += width) for (let j = 0; j < width; j++) out[i + j] = value[i + width - 1 - j];
  return out;
}
