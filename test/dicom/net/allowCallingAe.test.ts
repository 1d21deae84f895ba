import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allowedCallers, echo, startListener, type Listener } from '../../../src/dicom/net/index.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { freePort } from './orthanc.js';

/**
 * The calling-AE allow-list as a policy field (dicom.network.allowCallingAeTitles) and as the
 * --allow-ae flag: real associations (C-ECHO over loopback) against a listener in this process.
 */
const secret = Buffer.from('allow-ae-test-secret-0123456789');
const work = mkdtempSync(join(tmpdir(), 'veil-allow-ae-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function policyWith(network: string) {
  return unwrap(parsePolicy(`name: net\nversion: 1\ndicom:\n  profile: basic\n${network}`, { file: 'policy.yaml', baseDir: work }));
}

async function listen(name: string, network: string, allowAe?: string[]): Promise<{ listener: Listener; port: number }> {
  const port = await freePort();
  const listener = await startListener({
    policy: policyWith(network),
    secret,
    host: '127.0.0.1',
    port,
    aeTitle: 'VEIL',
    out: join(work, name, 'out'),
    spool: join(work, name, 'spool'),
    allowAe,
    studyIdleSeconds: 1,
    jobs: 1,
  });
  return { listener, port };
}

const asCaller = (port: number, callingAeTitle: string) => echo({ aeTitle: 'VEIL', host: '127.0.0.1', port, callingAeTitle });

describe('calling AE titles let in', () => {
  it("the policy's list alone: its titles are let in, any other is refused at association", async () => {
    const { listener, port } = await listen('policy', '  network: { allowCallingAeTitles: [PACS, CT1] }\n');
    try {
      expect(await asCaller(port, 'PACS')).toBe(true);
      expect(await asCaller(port, 'CT1')).toBe(true);
      expect(await asCaller(port, 'INTRUDER')).toBe(false);
      expect(listener.report().totals).toMatchObject({ associations: 2, associationsRefused: 1 });
    } finally {
      await listener.close();
    }
  });

  it('policy and --allow-ae together: a caller must be in both (the flag only narrows what was approved)', async () => {
    const { listener, port } = await listen('both', '  network: { allowCallingAeTitles: [PACS, CT1] }\n', ['CT1', 'CT2']);
    try {
      expect(await asCaller(port, 'CT1')).toBe(true);
      expect(await asCaller(port, 'PACS')).toBe(false);
      expect(await asCaller(port, 'CT2')).toBe(false);
    } finally {
      await listener.close();
    }
  });

  it('--allow-ae alone still works; with no list at all every caller is let in', async () => {
    const flagOnly = await listen('flag', '', ['CT2']);
    try {
      expect(await asCaller(flagOnly.port, 'CT2')).toBe(true);
      expect(await asCaller(flagOnly.port, 'PACS')).toBe(false);
    } finally {
      await flagOnly.listener.close();
    }
    expect(allowedCallers(undefined, undefined)).toEqual([]);
  });

  it('lists with no title in common are refused at start, naming --allow-ae', async () => {
    await expect(listen('none', '  network: { allowCallingAeTitles: [PACS] }\n', ['CT9'])).rejects.toMatchObject({ code: 'USAGE', location: { field: '--allow-ae' } });
  });

  it('the policy field is checked: an empty list or a title over 16 characters is a policy error naming the field', () => {
    for (const list of ['[]', '[ABCDEFGHIJKLMNOPQ]', "['back\\\\slash']"]) {
      const result = parsePolicy(`name: net\nversion: 1\ndicom:\n  network: { allowCallingAeTitles: ${list} }\n`, { file: 'policy.yaml', baseDir: work });
      expect(result.success, list).toBe(false);
      if (!result.success) expect(result.issues.map((i) => i.field).join(' ')).toContain('dicom.network.allowCallingAeTitles');
    }
  });
});
