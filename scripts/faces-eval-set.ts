/**
 * Builds the face evaluation set (issue 5) from real face photographs that ship in an
 * installed npm package: the "extracted faces" grid of @vladmandic/human's
 * assets/screenshot-facematch.jpg (108 face crops of real people, ~106 px each). No face
 * photos are committed; the set is regenerated deterministically (seeded) on each run.
 *
 * The images are SYNTHETIC COMPOSITES: crops are scaled, turned (roll), relit, partly
 * covered, flipped or turned grey, then pasted (with a soft elliptical edge) onto
 * backgrounds that are either generated or a face-free part of a real photo (the ceiling
 * of assets/samples.jpg). Ground-truth face boxes are known by construction.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export interface TruthFace {
  /** Square face box in image pixels (the central 62% of the pasted crop). */
  x: number;
  y: number;
  size: number;
  variant: string;
}

export interface EvalImage {
  name: string;
  kind: 'portrait' | 'group-small' | 'group-large' | 'real' | 'face-free';
  width: number;
  height: number;
  channels: 3;
  data: Uint8Array;
  faces: TruthFace[];
}

/** Share of a grid crop covered by the face itself (measured: BlazeFace boxes ≈ 65 px of 106). */
export const FACE_SHARE = 0.62;

const ROWS = [283, 395, 508, 620, 733, 845];
const ROW_HEIGHT = 106;
const COL_PITCH = 106.6;
const COLS = 18;

export function humanAssetsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@vladmandic/human')), '..', 'assets');
}

/** Deterministic PRNG (mulberry32) so that every run builds the same set. */
export function rng(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // every draw adds the same constant to the state: n draws at once are one multiply (mod 2³²)
  return Object.assign(next, { skip: (n: number) => void (a = (a + Math.imul(n, 0x6d2b79f5)) >>> 0) });
}

/** A seeded generator of draws in [0, 1), which can also pass over `n` draws without making them. */
export type Random = (() => number) & { skip(n: number): void };

/** The grid's face crops, each cut from the screenshot when first asked for (a test that builds one image needs a few). */
function faceCrops(): { count: number; crop(index: number): Promise<Buffer> } {
  const file = join(humanAssetsDir(), 'screenshot-facematch.jpg');
  const cut = new Map<number, Promise<Buffer>>();
  return {
    count: ROWS.length * COLS,
    crop(index) {
      const top = ROWS[Math.floor(index / COLS)] as number;
      const left = Math.round((index % COLS) * COL_PITCH);
      let crop = cut.get(index);
      if (!crop) cut.set(index, (crop = sharp(file).extract({ left, top, width: 104, height: ROW_HEIGHT }).png().toBuffer()));
      return crop;
    },
  };
}

type Variant = 'plain' | 'dark' | 'bright' | 'roll-left' | 'roll-right' | 'covered' | 'flipped' | 'low-contrast';

/** A crop prepared for pasting: RGBA, soft elliptical alpha, scaled to `size`. */
async function preparedFace(crop: Buffer, size: number, variant: Variant, roll: number): Promise<Buffer> {
  let img = sharp(crop).resize(size, size, { fit: 'fill' });
  if (variant === 'dark') img = img.linear(0.45, 0);
  if (variant === 'bright') img = img.linear(0.7, 90);
  if (variant === 'low-contrast') img = img.linear(0.5, 64);
  if (variant === 'flipped') img = img.flop();
  let buffer = await img.png().toBuffer();
  if (variant === 'covered') {
    // A hand / surgical mask over the lower third of the face.
    const bar = Buffer.from(
      `<svg width="${size}" height="${size}"><rect x="${size * 0.15}" y="${size * 0.6}" width="${size * 0.7}" height="${size * 0.3}" rx="${size * 0.08}" fill="#8fb8d8"/></svg>`,
    );
    buffer = await sharp(buffer).composite([{ input: bar }]).png().toBuffer();
  }
  const alpha = Buffer.from(
    `<svg width="${size}" height="${size}"><defs><radialGradient id="g"><stop offset="80%" stop-color="#fff"/><stop offset="100%" stop-color="#000"/></radialGradient></defs><ellipse cx="${size / 2}" cy="${size / 2}" rx="${size * 0.48}" ry="${size * 0.5}" fill="url(#g)"/></svg>`,
  );
  const mask = await sharp(alpha).greyscale().raw().toBuffer();
  const rgb = await sharp(buffer).removeAlpha().raw().toBuffer();
  const rgba = Buffer.alloc(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    rgba[i * 4] = rgb[i * 3] as number;
    rgba[i * 4 + 1] = rgb[i * 3 + 1] as number;
    rgba[i * 4 + 2] = rgb[i * 3 + 2] as number;
    rgba[i * 4 + 3] = mask[i] as number;
  }
  let out = sharp(rgba, { raw: { width: size, height: size, channels: 4 } });
  if (roll !== 0) out = out.rotate(roll, { background: { r: 0, g: 0, b: 0, alpha: 0 } });
  return out.png().toBuffer();
}

async function background(width: number, height: number, random: Random, ceiling: () => Promise<Buffer>): Promise<Buffer> {
  const plan = backgroundPlan(width, height, random);
  if (!plan) return sharp(await ceiling()).resize(width, height, { fit: 'cover' }).removeAlpha().png().toBuffer();
  const noise = await sharp(plan.grain, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return sharp(Buffer.from(plan.svg)).composite([{ input: noise, blend: 'soft-light' }]).removeAlpha().png().toBuffer();
}

/**
 * The random draws of a background: undefined for the ceiling photo, else the gradient SVG
 * and its grain. Apart from the drawing, so that an image left out of the set still takes
 * its draws and the images after it come out the same.
 */
function backgroundPlan(width: number, height: number, random: Random, draw = true): { svg: string; grain: Buffer } | undefined {
  if (random() < 0.4) return undefined;
  const hue = Math.floor(random() * 360);
  const svg = `<svg width="${width}" height="${height}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue},35%,70%)"/><stop offset="1" stop-color="hsl(${(hue + 90) % 360},30%,30%)"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${Array.from(
    { length: 12 },
    () => `<rect x="${random() * width}" y="${random() * height}" width="${20 + random() * width * 0.3}" height="${20 + random() * height * 0.3}" fill="hsl(${Math.floor(random() * 360)},25%,${30 + random() * 50}%)" opacity="0.6"/>`,
  ).join('')}</svg>`;
  // Seeded Gaussian noise (Box–Muller), so the set is the same on every run. An image left out
  // passes over its two draws per byte (a 1920×1080 grain is 12 million draws).
  if (!draw) {
    random.skip(2 * width * height * 3);
    return undefined;
  }
  const grain = Buffer.alloc(width * height * 3);
  for (let i = 0; i < grain.length; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    grain[i] = Math.max(0, Math.min(255, Math.round(128 + 18 * g)));
  }
  return { svg, grain };
}

interface Slot {
  x: number;
  y: number;
  size: number;
}

/** Non-overlapping square slots (with a gap) for `count` faces of `minSize`–`maxSize` px. */
function placeSlots(width: number, height: number, count: number, minSize: number, maxSize: number, random: () => number): Slot[] {
  const slots: Slot[] = [];
  for (let attempt = 0; slots.length < count && attempt < 5000; attempt++) {
    const size = Math.round(minSize + random() * (maxSize - minSize));
    const pad = size * 0.3;
    const x = Math.round(random() * (width - size));
    const y = Math.round(random() * (height - size));
    if (slots.every((s) => x + size + pad < s.x || s.x + s.size + pad < x || y + size + pad < s.y || s.y + s.size + pad < y)) slots.push({ x, y, size });
  }
  return slots;
}

/**
 * The set, or (`wanted`) only the images whose names it accepts: the others are not drawn,
 * but take their random draws, so every image built is the same as in the whole set.
 */
export async function buildFaceEvalSet(seed = 5, wanted: (name: string) => boolean = () => true): Promise<EvalImage[]> {
  const random = rng(seed);
  const crops = faceCrops();
  const order = Array.from({ length: crops.count }, (_, i) => i).sort(() => random() - 0.5);
  let next = 0;
  const take = (): number => order[next++ % order.length] as number;
  const ceilingFile = join(humanAssetsDir(), 'samples.jpg');
  // Face-free ceiling of the large photo in samples.jpg.
  let ceilingCrop: Promise<Buffer> | undefined;
  const ceiling = (): Promise<Buffer> => (ceilingCrop ??= sharp(ceilingFile).extract({ left: 520, top: 200, width: 760, height: 190 }).png().toBuffer());

  /** A face's roll in degrees: fixed for the rolled variants, else a random draw. */
  const rollOf = (variant: Variant): number => (variant === 'roll-left' ? -25 : variant === 'roll-right' ? 22 : Math.round((random() - 0.5) * 16));
  const images: EvalImage[] = [];
  const compose = async (name: string, kind: EvalImage['kind'], width: number, height: number, slots: Slot[], variants: Variant[], grey: boolean): Promise<void> => {
    if (!wanted(name)) {
      for (const [i] of slots.entries()) {
        rollOf(variants[i % variants.length] as Variant);
        take();
      }
      backgroundPlan(width, height, random, false);
      return;
    }
    const layers: { input: Buffer; left: number; top: number }[] = [];
    const faces: TruthFace[] = [];
    for (const [i, slot] of slots.entries()) {
      const variant = variants[i % variants.length] as Variant;
      const roll = rollOf(variant);
      const face = await preparedFace(await crops.crop(take()), slot.size, variant, roll);
      const meta = await sharp(face).metadata();
      const left = Math.round(slot.x + slot.size / 2 - (meta.width ?? slot.size) / 2);
      const top = Math.round(slot.y + slot.size / 2 - (meta.height ?? slot.size) / 2);
      if (left < 0 || top < 0 || left + (meta.width ?? 0) > width || top + (meta.height ?? 0) > height) continue;
      layers.push({ input: face, left, top });
      const size = slot.size * FACE_SHARE;
      faces.push({ x: slot.x + (slot.size - size) / 2, y: slot.y + (slot.size - size) / 2, size, variant: grey ? `${variant}+grey` : variant });
    }
    const img = sharp(await background(width, height, random, ceiling)).composite(layers);
    const data = await sharp(await img.png().toBuffer()).removeAlpha().raw().toBuffer();
    // Grey photos stay 3-channel (R = G = B) like an RGB export of a grey picture.
    if (grey) for (let p = 0; p < width * height * 3; p += 3) data[p] = data[p + 1] = data[p + 2] = Math.round(0.299 * (data[p] as number) + 0.587 * (data[p + 1] as number) + 0.114 * (data[p + 2] as number));
    images.push({ name, kind, width, height, channels: 3, data: new Uint8Array(data), faces });
  };

  const portraitVariants: Variant[] = ['plain', 'dark', 'bright', 'roll-left', 'roll-right', 'covered', 'flipped', 'low-contrast'];
  for (const [i, variant] of portraitVariants.entries()) {
    const size = Math.round(200 + random() * 120);
    const slot = { x: Math.round(80 + random() * (560 - size - 80)), y: Math.round(40 + random() * (440 - size - 40)), size };
    await compose(`portrait-${i + 1}-${variant}.png`, 'portrait', 640, 480, [slot], [variant], i === 6);
  }
  for (let i = 0; i < 6; i++) {
    await compose(`group-small-${i + 1}.png`, 'group-small', 640, 480, placeSlots(640, 480, 5, 55, 85, random), ['plain', 'dark', 'roll-left', 'covered', 'bright', 'roll-right'], i === 5);
  }
  for (let i = 0; i < 4; i++) {
    await compose(`group-large-${i + 1}.png`, 'group-large', 1920, 1080, placeSlots(1920, 1080, 10, 60, 130, random), ['plain', 'flipped', 'dark', 'low-contrast', 'roll-right', 'plain', 'covered', 'bright', 'roll-left', 'plain'], false);
  }
  return images;
}

/** A region of an installed file; `faces` are hand-placed boxes (x, y, size) in the region's pixels. */
interface RealSource {
  name: string;
  file: string;
  region?: { left: number; top: number; width: number; height: number };
  faces: [number, number, number][];
}

/**
 * Real photographs installed on this machine (npm packages; no photo is committed). Faces:
 * @vladmandic/human's webcam portrait, the five face cards of its face-detect screenshot, six
 * photo thumbnails of samples.jpg and nine of the "sample images" strip of its face-match
 * screenshot (face boxes placed by hand and checked on the rendered crops; the small ones,
 * 17–25 px, include sunglasses, a face cut by the frame and heads turned away). Face-free: the chandelier ceiling, the bodies and the floor of samples.jpg's group
 * photo (its faces carry the package's drawn overlays, so it is not used for recall), and
 * the robot and wall of autocannon's test photo test/j5.jpeg. Each face-free region is also
 * used at half size (the detector's windows then see it at another scale).
 */
export function realSources(): { withFaces: RealSource[]; faceFree: RealSource[]; unlabelled: RealSource[] } {
  const human = (name: string): string => join(humanAssetsDir(), name);
  const require = createRequire(import.meta.url);
  const autocannon = join(dirname(require.resolve('autocannon/package.json')), 'test', 'j5.jpeg');
  const samples = human('samples.jpg');
  const thumb = (name: string, left: number, width: number, faces: [number, number, number][]): RealSource => ({ name, file: samples, region: { left, top: 0, width, height: 160 }, faces });
  const match = (name: string, region: RealSource['region'], faces: [number, number, number][]): RealSource => ({ name, file: human('screenshot-facematch.jpg'), region, faces });
  return {
    withFaces: [
      { name: 'real-webcam-portrait', file: human('screenshot-faceid.jpg'), faces: [[40, 175, 84]] },
      { name: 'real-face-cards', file: human('screenshot-facedetect.jpg'), region: { left: 0, top: 340, width: 800, height: 160 }, faces: [[38, 33, 90], [193, 30, 93], [356, 37, 89], [497, 29, 98], [658, 35, 92]] },
      thumb('real-thumb-woman-dark-dress', 165, 160, [[43, 28, 42]]),
      thumb('real-thumb-man-restaurant', 328, 212, [[106, 26, 33]]),
      thumb('real-thumb-woman-standing', 545, 90, [[42, 17, 12]]),
      thumb('real-thumb-woman-wall', 642, 153, [[87, 24, 20]]),
      thumb('real-thumb-woman-stool', 797, 108, [[36, 23, 12]]),
      thumb('real-thumb-three-people', 1125, 155, [[38, 33, 16], [69, 17, 13], [98, 36, 11]]),
      // The "sample images" strip of screenshot-facematch.jpg (thumbnails of real photos).
      match('real-match-selected-face', { left: 0, top: 20, width: 170, height: 180 }, [[16, 35, 142]]),
      match('real-match-woman-portrait', { left: 295, top: 20, width: 100, height: 110 }, [[8, 26, 75]]),
      match('real-match-woman-car', { left: 395, top: 20, width: 100, height: 95 }, [[22, 20, 29]]),
      match('real-match-man-suit', { left: 497, top: 20, width: 105, height: 110 }, [[25, 38, 37]]),
      match('real-match-man-suit-red', { left: 1665, top: 135, width: 105, height: 110 }, [[51, 19, 25]]),
      match('real-match-man-and-woman', { left: 1560, top: 135, width: 100, height: 110 }, [[16, 20, 37], [46, 30, 34]]),
      match('real-match-couple', { left: 713, top: 135, width: 97, height: 110 }, [[28, 20, 26], [51, 57, 25]]),
      match('real-match-two-men-sunglasses', { left: 177, top: 155, width: 104, height: 75 }, [[16, 16, 18], [51, 21, 19]]),
      match('real-match-two-men-night', { left: 1780, top: 160, width: 92, height: 75 }, [[18, 0, 18], [56, 2, 19]]),
    ],
    faceFree: [
      { name: 'free-ceiling-chandeliers', file: samples, region: { left: 250, top: 195, width: 1030, height: 230 }, faces: [] },
      { name: 'free-ceiling-left', file: samples, region: { left: 0, top: 195, width: 640, height: 225 }, faces: [] },
      { name: 'free-bodies', file: samples, region: { left: 0, top: 625, width: 1280, height: 270 }, faces: [] },
      { name: 'free-floor', file: samples, region: { left: 0, top: 895, width: 1280, height: 263 }, faces: [] },
      { name: 'free-robot-street', file: autocannon, region: { left: 0, top: 0, width: 780, height: 300 }, faces: [] },
      { name: 'free-stone-wall', file: autocannon, region: { left: 0, top: 0, width: 260, height: 584 }, faces: [] },
    ],
    // Whole photos whose faces are not all labelled (tiny, from behind, under drawn overlays):
    // used for what hiding changes and whether a file is withheld, not for recall.
    unlabelled: [
      { name: 'whole-group-photo-overlays', file: samples, region: { left: 0, top: 195, width: 1280, height: 963 }, faces: [] },
      { name: 'whole-thumbnail-row', file: samples, region: { left: 0, top: 0, width: 1280, height: 160 }, faces: [] },
      { name: 'whole-face-detect-screen', file: human('screenshot-facedetect.jpg'), faces: [] },
      { name: 'whole-street-robot', file: autocannon, faces: [] },
    ],
  };
}

async function loadSource(source: RealSource, kind: EvalImage['kind'], scale: number): Promise<EvalImage> {
  let png = await (source.region ? sharp(source.file).extract(source.region) : sharp(source.file)).png().toBuffer();
  if (scale !== 1) {
    const meta = await sharp(png).metadata();
    png = await sharp(png).resize({ width: Math.round((meta.width ?? 0) * scale) }).png().toBuffer();
  }
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const faces = source.faces.map(([x, y, size]) => ({ x: x * scale, y: y * scale, size: size * scale, variant: 'real' }));
  const name = `${source.name}${scale === 1 ? '' : `-x${scale}`}.png`;
  return { name, kind, width: info.width, height: info.height, channels: 3, data: new Uint8Array(data), faces };
}

/** The real photographs (see realSources): images with faces, and face-free images at full and half size. */
export async function buildRealPhotoSet(): Promise<{ withFaces: EvalImage[]; faceFree: EvalImage[]; unlabelled: EvalImage[]; files: string[] }> {
  const { withFaces, faceFree, unlabelled } = realSources();
  const images: EvalImage[] = [];
  for (const s of withFaces) images.push(await loadSource(s, 'real', 1));
  const free: EvalImage[] = [];
  for (const scale of [1, 0.5]) for (const s of faceFree) free.push(await loadSource(s, 'face-free', scale));
  const whole: EvalImage[] = [];
  for (const s of unlabelled) whole.push(await loadSource(s, 'real', 1));
  const files = [...new Set([...withFaces, ...faceFree, ...unlabelled].map((s) => s.file))];
  return { withFaces: images, faceFree: free, unlabelled: whole, files };
}
