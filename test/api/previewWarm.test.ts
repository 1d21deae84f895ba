import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { warmPreviewThread } from '../../src/api/preview.js';
import { smallCsv, smallPolicyYaml } from './helpers.js';
import { api, createKeyWithCli, startServerProcess, waitUntil, type ServerProcess } from './serverProcess.js';

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

describe('veil serve --no-preview-warmup', () => {
  const policy = smallPolicyYaml('warm-switch');
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** The built `veil serve` at debug level, with or without the switch. */
  async function serve(previewWarmup: boolean): Promise<{ server: ServerProcess; committee: string }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'veil-warm-switch-'));
    dirs.push(dataDir);
    const committee = createKeyWithCli(dataDir, 'committee', 'committee');
    const server = await startServerProcess(dataDir, ['--log-level', 'debug'], {}, { previewWarmup });
    return { server, committee };
  }

  it('warms the preview thread once it listens by default', async () => {
    const { server } = await serve(true);
    try {
      await waitUntil(() => server.log().includes('"msg":"preview thread warm"'));
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('skips the warm-up with the switch, and the first preview still answers (loading the engine itself)', async () => {
    const { server, committee } = await serve(false);
    try {
      const put = await api(server.base, committee, '/v1/policies/warm-switch', { method: 'PUT', headers: { 'Content-Type': 'application/yaml' }, body: policy });
      expect(put.status).toBe(201);
      const form = new FormData();
      form.append('file', new Blob([smallCsv()]), 'sample.csv');
      const preview = await api<{ rows: number }>(server.base, committee, '/v1/policies/warm-switch/preview', { method: 'POST', body: form });
      expect(preview.status).toBe(200);
      expect(preview.body.rows).toBe(40);
      expect(server.log()).toContain('"msg":"listening"');
      expect(server.log()).not.toContain('preview thread warm');
    } finally {
      await server.stop();
    }
  }, 120_000);
});
