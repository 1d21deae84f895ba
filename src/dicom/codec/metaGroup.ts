/**
 * The UIDs of a Part-10 file's meta group (explicit VR little endian, PS3.10 7.1) and where
 * its data set starts, read from the raw bytes without parsing the data set: for a file that
 * is only forwarded, not de-identified again.
 */
export interface MetaGroup {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Offset of the first data set byte (the end of group 0002). */
  datasetOffset: number;
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

/** Reads group 0002 from offset 132 (after the preamble and "DICM") up to the first element of another group or `bytes`' end. */
export function readMetaGroup(bytes: Buffer): MetaGroup {
  const uids = new Map<number, string>();
  let at = 132;
  while (at + 8 <= bytes.length && bytes.readUInt16LE(at) === 0x0002) {
    const element = bytes.readUInt16LE(at + 2);
    const vr = bytes.toString('latin1', at + 4, at + 6);
    const long = LONG_VRS.has(vr);
    const length = long ? bytes.readUInt32LE(at + 8) : bytes.readUInt16LE(at + 6);
    const value = at + (long ? 12 : 8);
    if (vr === 'UI') uids.set(element, bytes.toString('latin1', value, value + length).replace(/[\0 ]+$/, ''));
    at = value + length;
  }
  return { sopClassUid: uids.get(0x0002) ?? '', sopInstanceUid: uids.get(0x0003) ?? '', transferSyntaxUid: uids.get(0x0010) ?? '', datasetOffset: at };
}
