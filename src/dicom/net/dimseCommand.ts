/**
 * DIMSE command sets (PS3.7 9.3, E.1) read and written directly: group 0000, Implicit VR
 * Little Endian, a few dozen bytes, for Veil's SCP (scp.ts) and SCU (scu.ts). Read into the
 * naturalized object dcmjs gives (names and values as dcmjs gives them; dcmjs-dimse read them
 * through dcmjs's general codec, ≈ 2 ms per command on the listener's main thread) for the
 * commands of C-STORE and C-ECHO; undefined for anything else.
 */

type CommandVr = 'UL' | 'US' | 'UI' | 'AE' | 'LO';

/** The command elements Veil's C-STORE and C-ECHO exchanges carry, with dcmjs's names. */
const COMMAND_ELEMENTS: readonly (readonly [number, string, CommandVr])[] = [
  [0x0000, 'CommandGroupLength', 'UL'],
  [0x0002, 'AffectedSOPClassUID', 'UI'],
  [0x0100, 'CommandField', 'US'],
  [0x0110, 'MessageID', 'US'],
  [0x0120, 'MessageIDBeingRespondedTo', 'US'],
  [0x0700, 'Priority', 'US'],
  [0x0800, 'CommandDataSetType', 'US'],
  [0x0900, 'Status', 'US'],
  [0x0902, 'ErrorComment', 'LO'],
  [0x0903, 'ErrorID', 'US'],
  [0x1000, 'AffectedSOPInstanceUID', 'UI'],
  [0x1030, 'MoveOriginatorApplicationEntityTitle', 'AE'],
  [0x1031, 'MoveOriginatorMessageID', 'US'],
];
const BY_ELEMENT = new Map(COMMAND_ELEMENTS.map(([element, name, vr]) => [element, { name, vr }]));
const BY_NAME = new Map(COMMAND_ELEMENTS.map(([element, name, vr]) => [name, { element, vr }]));

/** A command set as dcmjs naturalizes it, or undefined when it holds an element not listed above. */
export function parseCommand(bytes: Uint8Array): Record<string, unknown> | undefined {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, unknown> = { _vrMap: {} };
  for (let at = 0; at < view.length; ) {
    if (at + 8 > view.length) return undefined;
    const group = view.readUInt16LE(at);
    const element = view.readUInt16LE(at + 2);
    const length = view.readUInt32LE(at + 4);
    const value = at + 8;
    const known = BY_ELEMENT.get(element);
    if (group !== 0 || !known || length === 0 || value + length > view.length) return undefined;
    if (known.vr === 'US') {
      if (length !== 2) return undefined;
      out[known.name] = view.readUInt16LE(value);
    } else if (known.vr === 'UL') {
      if (length !== 4) return undefined;
      out[known.name] = view.readUInt32LE(value);
    } else {
      const text = view.toString('latin1', value, value + length);
      // dcmjs: a UI loses its trailing NUL padding, text its surrounding spaces
      if (known.vr === 'UI') out[known.name] = text.replace(/\0+$/, '');
      else out[known.name] = text.replace(/\0+$/, '').trim();
      if (out[known.name] === '' || (out[known.name] as string).includes('\\')) return undefined;
    }
    at = value + length;
  }
  return out;
}

/**
 * A naturalized command as the bytes of its command set (with its group length, elements in
 * tag order), or undefined when it holds a name or value not listed above.
 */
export function writeCommand(elements: Record<string, unknown>): Buffer | undefined {
  const parts: { element: number; bytes: Buffer }[] = [];
  for (const [name, value] of Object.entries(elements)) {
    if (name === '_vrMap' || name === 'CommandGroupLength' || value === undefined) continue;
    const known = BY_NAME.get(name);
    if (!known) return undefined;
    let bytes: Buffer;
    if (known.vr === 'US' || known.vr === 'UL') {
      const size = known.vr === 'US' ? 2 : 4;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** (8 * size)) return undefined;
      bytes = Buffer.alloc(size);
      if (size === 2) bytes.writeUInt16LE(value);
      else bytes.writeUInt32LE(value);
    } else {
      if (typeof value !== 'string' || value === '' || value.includes('\\') || /[^\x20-\x7e]/.test(value)) return undefined;
      const padded = value.length % 2 === 0 ? value : `${value}${known.vr === 'UI' ? '\0' : ' '}`;
      bytes = Buffer.from(padded, 'latin1');
    }
    parts.push({ element: known.element, bytes });
  }
  parts.sort((a, b) => a.element - b.element);
  const bodyLength = parts.reduce((n, p) => n + 8 + p.bytes.length, 0);
  const out = Buffer.alloc(12 + bodyLength);
  out.writeUInt32LE(0, 0); // (0000,0000)
  out.writeUInt32LE(4, 4);
  out.writeUInt32LE(bodyLength, 8);
  let at = 12;
  for (const { element, bytes } of parts) {
    out.writeUInt16LE(0, at);
    out.writeUInt16LE(element, at + 2);
    out.writeUInt32LE(bytes.length, at + 4);
    bytes.copy(out, at + 8);
    at += 8 + bytes.length;
  }
  return out;
}
