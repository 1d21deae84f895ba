import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { warmPreviewThread } from '../../src/api/preview.js';

const root = mkdtempSync(join(tmpdir(), 'veil-preview-warm-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('warmPreviewThread', () => {
  it('runs the whole preview path once on a made-up table in the thread and leaves nothing behind', async () => {
    const workDir = join(root, 'warm-up');
    const outcome = await new Promise<{ warmed: boolean; reason?: string }>((resolve) => {
      warmPreviewThread(workDir, (reason) => resolve({ warmed: false, reason }), () => resolve({ warmed: true }));
    });
    expect(outcome).toEqual({ warmed: true });
    expect(existsSync(workDir)).toBe(false);
  }, 120_000);

  it('reports a warm-up that cannot write its files, without throwing', async () => {
    // a regular file where the folder should be: mkdir fails inside the thread
    const blocked = join(root, 'not-a-dir');
    await import('node:fs/promises').then((fs) => fs.writeFile(blocked, ''));
    const reason = await new Promise<string>((resolve, reject) => {
      warmPreviewThread(join(blocked, 'warm-up'), resolve, () => reject(new Error('warmed where it could not write')));
    });
    expect(reason).toMatch(/ENOTDIR|not a directory/i);
  }, 120_000);
});
