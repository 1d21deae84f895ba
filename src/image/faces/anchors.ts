/**
 * SSD anchors of BlazeFace's 256 px ("back camera") model: a 16×16 grid with 2 anchors per
 * cell (stride 16) followed by an 8×8 grid with 6 anchors per cell (stride 32), 896 in
 * all, in the order of the model's outputs (512 first, then 384). Centres are in input
 * pixels; anchor sizes are fixed (1×1), so the regressors give sizes directly in pixels.
 */
export interface Anchor {
  x: number;
  y: number;
}

export const BLAZEFACE_INPUT = 256;

export function blazeFaceAnchors(inputSize = BLAZEFACE_INPUT): Anchor[] {
  const layers = [
    { stride: inputSize / 16, perCell: 2 },
    { stride: inputSize / 8, perCell: 6 },
  ];
  const anchors: Anchor[] = [];
  for (const { stride, perCell } of layers) {
    const cells = Math.ceil(inputSize / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let n = 0; n < perCell; n++) anchors.push({ x: stride * (gx + 0.5), y: stride * (gy + 0.5) });
      }
    }
  }
  return anchors;
}
