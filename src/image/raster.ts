/**
 * Shared pixel types of src/image. A `Raster8` is the 8-bit detection view of an image
 * (what models see); native pixel data at its own bit depth lives in the DICOM and image
 * readers and is redacted through regions expressed in the same pixel coordinates.
 */
export interface Raster8 {
  width: number;
  height: number;
  /** 1 = grey, 3 = RGB (interleaved). */
  channels: 1 | 3;
  data: Uint8Array;
}

/** Axis-aligned box in pixel coordinates of the full image (x, y = top-left). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
