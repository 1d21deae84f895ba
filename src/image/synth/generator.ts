import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import type { Box, Raster8 } from '../raster.js';
import { renderBackground, type BackgroundKind } from './backgrounds.js';
import { createRandom, type Random } from './random.js';
import { phiLine, safeLine } from './texts.js';

/**
 * Seeded generator of test images with burned-in PHI and non-PHI text, and their ground
 * truth (text, class, box, glyph mask). Fonts: the DejaVu families through sharp's librsvg.
 */
export interface TruthLine {
  text: string;
  phi: boolean;
  /** Tight box of the rendered glyphs (image pixels). */
  box: Box;
  /** 1 where a glyph covers the pixel (alpha > 50%), over `box`. */
  glyphs: Uint8Array;
  size: number;
  font: string;
  labelBox: boolean;
}

export interface SyntheticImage {
  image: Raster8;
  lines: TruthLine[];
  background: BackgroundKind;
}

export interface GeneratorOptions {
  width: number;
  height: number;
  phiLines: number;
  safeLines: number;
  minSize: number;
  maxSize: number;
  background?: BackgroundKind;
  /** A picture to print the lines on instead of a drawn background (e.g. a real CT frame); `width` × `height`, 1 or 3 channels. */
  backdrop?: Raster8;
}

export const DEFAULT_GENERATOR_OPTIONS: GeneratorOptions = { width: 768, height: 768, phiLines: 5, safeLines: 4, minSize: 8, maxSize: 28 };

const FONTS = ['DejaVu Sans', 'DejaVu Sans Mono', 'DejaVu Serif', 'DejaVu Sans Condensed'];
const COLOURS = ['#ffffff', '#e0e0e0', '#c8c8c8', '#ffff00', '#00ff66', '#66ddff', '#ff9933', '#a0a0a0'];

interface Placement {
  text: string;
  phi: boolean;
  x: number;
  baseline: number;
  size: number;
  font: string;
  colour: string;
  bold: boolean;
  label?: { fill: string; x: number; y: number; width: number; height: number };
  /** Estimated extent used to avoid overlaps. */
  estimate: Box;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function textElement(p: Placement, dx = 0, dy = 0): string {
  return `<text x="${p.x - dx}" y="${p.baseline - dy}" font-family="${p.font}" font-size="${p.size}"${p.bold ? ' font-weight="bold"' : ''} fill="${p.colour}" xml:space="preserve">${escapeXml(p.text)}</text>`;
}

function overlaps(a: Box, b: Box, margin: number): boolean {
  return a.x - margin < b.x + b.width && b.x - margin < a.x + a.width && a.y - margin < b.y + b.height && b.y - margin < a.y + a.height;
}

function place(random: Random, text: string, phi: boolean, options: GeneratorOptions, taken: Box[]): Placement | undefined {
  const { width, height } = options;
  for (let attempt = 0; attempt < 40; attempt++) {
    const size = random.int(options.minSize, options.maxSize);
    const font = random.pick(FONTS);
    const advance = font.includes('Mono') ? 0.61 : font.includes('Condensed') ? 0.56 : 0.64;
    const textWidth = Math.ceil(text.length * size * advance) + 2;
    const lineHeight = Math.ceil(size * 1.25);
    // Corners and edges are where scanners print; sometimes anywhere.
    const spot = random.int(0, 5);
    const edge = random.chance(0.3) ? 0 : random.int(2, 12);
    let x: number;
    let top: number;
    if (spot === 0) [x, top] = [edge, edge + random.int(0, height / 3)];
    else if (spot === 1) [x, top] = [width - textWidth - edge, edge + random.int(0, height / 3)];
    else if (spot === 2) [x, top] = [edge, height - lineHeight - edge - random.int(0, height / 3)];
    else if (spot === 3) [x, top] = [width - textWidth - edge, height - lineHeight - edge - random.int(0, height / 3)];
    else if (spot === 4) [x, top] = [random.int(0, Math.max(0, width - textWidth)), edge];
    else [x, top] = [random.int(0, Math.max(0, width - textWidth)), random.int(0, Math.max(0, height - lineHeight))];
    x = Math.max(0, Math.min(width - textWidth, x));
    top = Math.max(0, Math.min(height - lineHeight, top));
    const estimate = { x, y: top, width: textWidth, height: lineHeight };
    if (estimate.x < 0 || estimate.x + estimate.width > width) continue;
    if (taken.some((box) => overlaps(box, estimate, 6))) continue;
    taken.push(estimate);
    const labelled = random.chance(0.25);
    const colour = labelled ? random.pick(['#ffffff', '#ffff00', '#000000']) : random.pick(COLOURS);
    const label = labelled
      ? { fill: colour === '#000000' ? random.pick(['#d8d8d8', '#f0f0a0']) : random.pick(['#000000', '#202060', '#303030']), x: Math.max(0, x - 2), y: top, width: textWidth + 4, height: lineHeight }
      : undefined;
    return { text, phi, x, baseline: top + Math.round(size * 0.98), size, font, colour, bold: random.chance(0.25), label, estimate };
  }
  return undefined;
}

/** Renders one line alone (on transparency) to find its exact glyph box and mask. */
async function glyphTruth(p: Placement, width: number, height: number): Promise<{ box: Box; glyphs: Uint8Array } | undefined> {
  const x0 = Math.max(0, p.estimate.x - 8);
  const y0 = Math.max(0, p.estimate.y - 8);
  const w = Math.min(width, p.estimate.x + p.estimate.width * 1.4 + 16) - x0;
  const h = Math.min(height, p.estimate.y + p.estimate.height + 16) - y0;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(w)}" height="${Math.ceil(h)}">${textElement(p, x0, y0)}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if (data[(y * info.width + x) * 4 + 3] > 127) {
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      }
    }
  }
  if (maxX < 0) return undefined;
  const box = { x: x0 + minX, y: y0 + minY, width: maxX - minX + 1, height: maxY - minY + 1 };
  const glyphs = new Uint8Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) glyphs[y * box.width + x] = data[((minY + y) * info.width + minX + x) * 4 + 3] > 127 ? 1 : 0;
  }
  return { box, glyphs };
}

/** One synthetic image; `seed` fixes everything (background, texts, fonts, places). */
export async function generateImage(seed: number, overrides: Partial<GeneratorOptions> = {}): Promise<SyntheticImage> {
  const options = { ...DEFAULT_GENERATOR_OPTIONS, ...overrides };
  const random = createRandom(seed);
  const background = options.background ?? random.pick<BackgroundKind>(['ct', 'ultrasound', 'radiograph', 'photo']);
  const base = options.backdrop ? toRgb(options.backdrop) : renderBackground(random, background, options.width, options.height);
  const taken: Box[] = [];
  const placements: Placement[] = [];
  const wanted = [...Array.from({ length: options.phiLines }, () => true), ...Array.from({ length: options.safeLines }, () => false)];
  for (const phi of wanted) {
    const p = place(random, phi ? phiLine(random) : safeLine(random), phi, options, taken);
    if (p) placements.push(p);
  }
  const body = placements
    .map((p) => (p.label ? `<rect x="${p.label.x}" y="${p.label.y}" width="${p.label.width}" height="${p.label.height}" fill="${p.label.fill}"/>` : '') + textElement(p))
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${options.width}" height="${options.height}">${body}</svg>`;
  const composed = await sharp(base.data, { raw: { width: base.width, height: base.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  const lines: TruthLine[] = [];
  for (const p of placements) {
    const truth = await glyphTruth(p, options.width, options.height);
    if (truth) lines.push({ text: p.text, phi: p.phi, box: truth.box, glyphs: truth.glyphs, size: p.size, font: p.font, labelBox: Boolean(p.label) });
  }
  return { image: { width: options.width, height: options.height, channels: 3, data: new Uint8Array(composed) }, lines, background };
}

function toRgb(raster: Raster8): Raster8 {
  if (raster.channels === 3) return raster;
  const data = new Uint8Array(raster.width * raster.height * 3);
  for (let i = 0; i < raster.width * raster.height; i++) data.fill(raster.data[i * raster.channels], i * 3, i * 3 + 3);
  return { width: raster.width, height: raster.height, channels: 3, data };
}

/** Writes a synthetic image as PNG. */
export async function writePng(image: Raster8, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).png().toFile(path);
}
