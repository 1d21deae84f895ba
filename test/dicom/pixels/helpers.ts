import { decodeFrame, type FrameFormat } from '../../../src/dicom/pixels/codecs.js';
import type { Codec } from '../../../src/standard/transferSyntax.js';

/** Decodes a frame that a test has just encoded. */
export function decodeLossless(codec: Exclude<Codec, 'native'>, bytes: Uint8Array, format: FrameFormat): Uint8Array {
  return decodeFrame(codec, bytes, format).data;
}
