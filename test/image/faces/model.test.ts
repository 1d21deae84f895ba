import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBlazeFaceModel } from '../../../src/image/faces/model.js';
import { readOnnxMetadata } from '../../../src/image/faces/convert/toOnnx.js';

describe('loadBlazeFaceModel', () => {
  let dir: string;
  const saved = process.env['VEIL_MODEL_DIR'];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'veil-model-'));
    process.env['VEIL_MODEL_DIR'] = dir;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env['VEIL_MODEL_DIR'];
    else process.env['VEIL_MODEL_DIR'] = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('converts on first use, writes the ONNX file, then reuses it', async () => {
    const first = await loadBlazeFaceModel();
    expect(first.converted).toBe(true);
    expect(first.path).toBe(join(dir, 'blazeface.onnx'));
    const onDisk = new Uint8Array(await readFile(join(dir, 'blazeface.onnx')));
    expect(Buffer.from(onDisk).equals(Buffer.from(first.bytes))).toBe(true);
    expect(readOnnxMetadata(onDisk)['converter']).toMatch(/^veil convert-tfjs /);

    const second = await loadBlazeFaceModel();
    expect(second.converted).toBe(false);
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).toBe(true);
  });

  it('converts again when the cached file is damaged or from other sources', async () => {
    await writeFile(join(dir, 'blazeface.onnx'), 'not a model');
    const model = await loadBlazeFaceModel();
    expect(model.converted).toBe(true);
    expect((await readFile(join(dir, 'blazeface.onnx'))).length).toBe(model.bytes.length);
  });

  it('still works from memory when the model folder cannot be written', async () => {
    process.env['VEIL_MODEL_DIR'] = join(dir, 'missing', 'deeper', 'still');
    const model = await loadBlazeFaceModel();
    expect(model.converted).toBe(true);
    expect(model.path).toBeUndefined();
    expect(model.bytes.length).toBeGreaterThan(100_000);
  });
});
