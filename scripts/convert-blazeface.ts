/**
 * Converts BlazeFace from @vladmandic/human's tfjs graph model to ONNX and writes it
 * (default models/blazeface.onnx). Veil also does this by itself on first use; this script
 * is for doing it ahead of time (e.g. in a read-only deployment: set VEIL_MODEL_DIR).
 *
 *   npx tsx scripts/convert-blazeface.ts [--out path/to/blazeface.onnx]
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic.js';
import { convertBlazeFace, locateBlazeFaceSource, projectRoot, sha256 } from '../src/image/faces/model.js';

const i = process.argv.indexOf('--out');
const out = i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : join(projectRoot(), 'models', 'blazeface.onnx');
const started = performance.now();
const source = await locateBlazeFaceSource();
const { bytes, metadata } = await convertBlazeFace(source);
await writeFileAtomic(out, bytes);
console.log(`wrote ${out} (${bytes.length} bytes, sha256 ${sha256(bytes)}) in ${(performance.now() - started).toFixed(0)} ms`);
for (const [key, value] of Object.entries(metadata)) console.log(`  ${key}: ${value}`);
