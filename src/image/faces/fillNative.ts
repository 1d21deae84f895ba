import type { Raster8 } from '../raster.js';
import { faceMask } from './mask.js';
import type { FaceDetection, FaceDetector } from './types.js';

/** Passes after which a face still found fails the image. */
const FILL_PASSES = 2;

/**
 * Faces in native samples that blur and pixelation cannot work on (DICOM at any bit
 * depth, 16-bit images): found on the 8-bit view, filled inside the grown ellipse (hair,
 * ears and chin, which the tight box misses), looked for again and filled once more with
 * a wider ellipse; a face found after that fails the image. A detection whose eyes, nose
 * and mouth all lie on filled pixels is the filled oval's outline (no face is left there)
 * and is not counted. `fill` writes a mask into the
 * native samples; `view` gives the current 8-bit view. Returns every face filled, per pass.
 */
export async function fillFacesUntilGone(
  detector: FaceDetector,
  size: { width: number; height: number },
  view: () => Raster8,
  fill: (mask: Uint8Array) => void,
): Promise<{ faces: FaceDetection[]; passed: boolean }> {
  const faces: FaceDetection[] = [];
  const filled = new Uint8Array(size.width * size.height);
  // Eyes, nose and mouth all on flat fill: the detector sees the filled oval, not a face.
  const onFill = (f: FaceDetection): boolean =>
    f.keypoints.length >= 4 &&
    f.keypoints.slice(0, 4).every((k) => {
      const x = Math.floor(k.x);
      const y = Math.floor(k.y);
      return x >= 0 && y >= 0 && x < size.width && y < size.height && filled[y * size.width + x] === 1;
    });
  let found = await detector.detect(view());
  for (let pass = 0; found.length > 0; pass++) {
    if (pass === FILL_PASSES) return { faces, passed: false };
    faces.push(...found);
    const mask = faceMask(found, size.width, size.height, 0.25 + 0.15 * pass);
    fill(mask);
    for (let p = 0; p < mask.length; p++) if (mask[p]) filled[p] = 1;
    found = (await detector.detect(view())).filter((f) => !onFill(f));
  }
  return { faces, passed: true };
}
