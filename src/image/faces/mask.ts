import type { Box } from '../raster.js';
import type { FaceDetection } from './types.js';

/**
 * The region hidden for a face: an ellipse around the BlazeFace box, turned with the head
 * (eye line), shifted towards the forehead and grown by `margin` so that hair, ears and
 * chin are covered. Pure geometry; no pixels.
 */
export interface Ellipse {
  cx: number;
  cy: number;
  /** Semi-axis across the face (ear to ear) and along it (chin to crown). */
  rx: number;
  ry: number;
  /** Rotation in radians (0 = upright face). */
  angle: number;
}

/** Relative growth of the box before `margin`: ears stick out sideways, forehead and hair above. */
const ACROSS = 1.15;
const ALONG = 1.35;
const UPWARD_SHIFT = 0.08;

export function faceEllipse(face: FaceDetection, margin = 0.25): Ellipse {
  const { box, keypoints } = face;
  const rightEye = keypoints[0];
  const leftEye = keypoints[1];
  let angle = 0;
  if (rightEye && leftEye) {
    const a = Math.atan2(leftEye.y - rightEye.y, leftEye.x - rightEye.x);
    // A face upside down is unusual; an implausible eye line falls back to upright.
    if (Math.abs(a) <= (Math.PI * 3) / 4) angle = a;
  }
  const rx = (box.width / 2) * ACROSS * (1 + margin);
  const ry = (box.height / 2) * ALONG * (1 + margin);
  // "Up" for the face is (sin a, -cos a) in image coordinates.
  const shift = UPWARD_SHIFT * box.height;
  return {
    cx: box.x + box.width / 2 + Math.sin(angle) * shift,
    cy: box.y + box.height / 2 - Math.cos(angle) * shift,
    rx,
    ry,
    angle,
  };
}

/** Normalized radius of pixel centre (x + 0.5, y + 0.5): ≤ 1 inside the ellipse. */
export function ellipseRadius(e: Ellipse, x: number, y: number): number {
  const dx = x + 0.5 - e.cx;
  const dy = y + 0.5 - e.cy;
  const c = Math.cos(e.angle);
  const s = Math.sin(e.angle);
  const u = (dx * c + dy * s) / e.rx;
  const v = (-dx * s + dy * c) / e.ry;
  return Math.sqrt(u * u + v * v);
}

export function insideEllipse(e: Ellipse, x: number, y: number): boolean {
  return ellipseRadius(e, x, y) <= 1;
}

/** Share of the ellipse's radius, outside it, over which blur and fill fade into the original. */
export const FEATHER = 0.1;

/**
 * Blend weight of a hidden pixel: 1 inside the ellipse, fading to 0 over a thin band
 * outside it, so that the hidden oval has no hard outline (a sharp oval reads as a head
 * to the verifying detector). Everything inside the ellipse is fully hidden.
 */
export function featherWeight(e: Ellipse, x: number, y: number): number {
  const r = ellipseRadius(e, x, y);
  if (r <= 1) return 1;
  if (r >= 1 + FEATHER) return 0;
  return (1 + FEATHER - r) / FEATHER;
}

/** The ellipse including its feather band (what hiding may change). */
export function featheredEllipse(e: Ellipse): Ellipse {
  return { ...e, rx: e.rx * (1 + FEATHER), ry: e.ry * (1 + FEATHER) };
}

/** Integer bounding box of the ellipse, clipped to the image (may be empty). */
export function ellipseBounds(e: Ellipse, width: number, height: number): Box {
  const c = Math.cos(e.angle);
  const s = Math.sin(e.angle);
  const hx = Math.sqrt((e.rx * c) ** 2 + (e.ry * s) ** 2);
  const hy = Math.sqrt((e.rx * s) ** 2 + (e.ry * c) ** 2);
  const x0 = Math.max(0, Math.floor(e.cx - hx));
  const y0 = Math.max(0, Math.floor(e.cy - hy));
  const x1 = Math.min(width, Math.ceil(e.cx + hx));
  const y1 = Math.min(height, Math.ceil(e.cy + hy));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** A width×height 0/1 mask of the union of the faces' ellipses. */
export function faceMask(faces: FaceDetection[], width: number, height: number, margin = 0.25): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const face of faces) {
    const e = faceEllipse(face, margin);
    const b = ellipseBounds(e, width, height);
    for (let y = b.y; y < b.y + b.height; y++) {
      for (let x = b.x; x < b.x + b.width; x++) if (insideEllipse(e, x, y)) mask[y * width + x] = 1;
    }
  }
  return mask;
}
