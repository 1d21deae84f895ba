import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import dcmjsCodecs from 'dcmjs-codecs';
import type { Codec } from '../../standard/transferSyntax.js';

/**
 * Frame codecs through dcmjs-codecs (WebAssembly builds of libjpeg-turbo, CharLS,
 * OpenJPEG, OpenJPH and an RLE codec, shipped inside the npm package). The WASM file is
 * read from node_modules; nothing is downloaded.
 */
const { NativeCodecs, Context } = dcmjsCodecs;

export interface FrameFormat {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometricInterpretation: string;
}

let ready: Promise<void> | undefined;

export function initCodecs(): Promise<void> {
  if (!ready) {
    const require = createRequire(import.meta.url);
    const wasm = join(dirname(require.resolve('dcmjs-codecs')), 'dcmjs-native-codecs.wasm');
    ready = NativeCodecs.isInitialized() ? Promise.resolve() : NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: wasm, logCodecsInfo: false, logCodecsTrace: false });
  }
  return ready;
}

function contextOf(format: FrameFormat, buffers: { encodedBuffer?: Uint8Array; decodedBuffer?: Uint8Array }): InstanceType<typeof Context> {
  return new Context({
    width: format.columns,
    height: format.rows,
    bitsAllocated: format.bitsAllocated,
    bitsStored: format.bitsStored,
    samplesPerPixel: format.samplesPerPixel,
    pixelRepresentation: format.pixelRepresentation,
    planarConfiguration: format.planarConfiguration,
    photometricInterpretation: format.photometricInterpretation,
    ...buffers,
  });
}

/**
 * Decodes one compressed frame to native little-endian samples. Colour JPEG comes out as
 * RGB (its YBR is converted), J2K colour as RGB; `photometric` says what the samples are.
 */
export function decodeFrame(codec: Exclude<Codec, 'native'>, bytes: Uint8Array, format: FrameFormat): { data: Uint8Array; photometric: string; planar: number } {
  const context = contextOf(format, { encodedBuffer: bytes });
  let decoded: InstanceType<typeof Context>;
  if (codec === 'rle') decoded = NativeCodecs.decodeRle(context);
  else if (codec === 'jpeg') decoded = NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: true });
  else if (codec === 'jpegls') decoded = NativeCodecs.decodeJpegLs(context);
  else if (codec === 'j2k') decoded = NativeCodecs.decodeJpeg2000(context);
  else decoded = NativeCodecs.decodeHtJpeg2000(context);
  const data = decoded.getDecodedBuffer();
  if (!data) throw new Error('the codec returned no pixels');
  return {
    data: new Uint8Array(data),
    photometric: decoded.getPhotometricInterpretation() ?? format.photometricInterpretation,
    planar: decoded.getPlanarConfiguration() ?? format.planarConfiguration,
  };
}

/** Lossless encoding of one native frame in the given codec (undefined when not supported). */
export function encodeLossless(codec: Codec, data: Uint8Array, format: FrameFormat): Uint8Array | undefined {
  const context = contextOf(format, { decodedBuffer: data });
  let encoded: InstanceType<typeof Context>;
  if (codec === 'rle') encoded = NativeCodecs.encodeRle(context);
  else if (codec === 'jpegls') encoded = NativeCodecs.encodeJpegLs(context, { lossy: false });
  else if (codec === 'j2k') encoded = NativeCodecs.encodeJpeg2000(context, { lossy: false });
  else if (codec === 'htj2k') encoded = NativeCodecs.encodeHtJpeg2000(context, { lossy: false });
  else if (codec === 'jpeg') encoded = NativeCodecs.encodeJpeg(context, { lossy: false, predictor: 1, pointTransform: 0 });
  else return undefined;
  const bytes = encoded.getEncodedBuffer();
  return bytes ? new Uint8Array(bytes) : undefined;
}
