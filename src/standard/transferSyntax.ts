/**
 * What the pixel module knows about each transfer syntax: how frames are stored, which
 * codec decodes them, and whether they may be re-encoded in the same syntax (only lossless
 * syntaxes; redacted lossy images go out as explicit VR little endian, never a new lossy step).
 */
export type Codec = 'native' | 'rle' | 'jpeg' | 'jpegls' | 'j2k' | 'htj2k';

export interface SyntaxInfo {
  codec: Codec;
  /** The compressed stream in this syntax is lossless (so re-encoding it is too). */
  lossless: boolean;
}

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

const SYNTAXES: Record<string, SyntaxInfo> = {
  '1.2.840.10008.1.2': { codec: 'native', lossless: true },
  '1.2.840.10008.1.2.1': { codec: 'native', lossless: true },
  '1.2.840.10008.1.2.2': { codec: 'native', lossless: true },
  '1.2.840.10008.1.2.1.99': { codec: 'native', lossless: true },
  '1.2.840.10008.1.2.5': { codec: 'rle', lossless: true },
  '1.2.840.10008.1.2.4.50': { codec: 'jpeg', lossless: false },
  '1.2.840.10008.1.2.4.51': { codec: 'jpeg', lossless: false },
  '1.2.840.10008.1.2.4.57': { codec: 'jpeg', lossless: true },
  '1.2.840.10008.1.2.4.70': { codec: 'jpeg', lossless: true },
  '1.2.840.10008.1.2.4.80': { codec: 'jpegls', lossless: true },
  '1.2.840.10008.1.2.4.81': { codec: 'jpegls', lossless: false },
  '1.2.840.10008.1.2.4.90': { codec: 'j2k', lossless: true },
  '1.2.840.10008.1.2.4.91': { codec: 'j2k', lossless: false },
  '1.2.840.10008.1.2.4.201': { codec: 'htj2k', lossless: true },
  '1.2.840.10008.1.2.4.202': { codec: 'htj2k', lossless: true },
  '1.2.840.10008.1.2.4.203': { codec: 'htj2k', lossless: false },
};

export function syntaxInfo(uid: string): SyntaxInfo | undefined {
  return SYNTAXES[uid];
}
