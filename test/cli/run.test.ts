import { afterEach, describe, expect, it, vi } from 'vitest';
import { VeilError } from '../../src/errors.js';
import { runCommand } from '../../src/cli/run.js';

function systemError(code: string, path?: string): Error {
  return Object.assign(new Error(`${code}: raw system message`), { code, ...(path ? { path } : {}) });
}

async function outcome(body: () => Promise<void>): Promise<{ code: number | string | undefined; stderr: string }> {
  const writes: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  try {
    await runCommand(body);
    return { code: process.exitCode, stderr: writes.join('') };
  } finally {
    spy.mockRestore();
    process.exitCode = 0;
  }
}

afterEach(() => {
  process.exitCode = 0;
});

describe('runCommand', () => {
  it('prints a Veil error as one line and exits 2', async () => {
    const result = await outcome(async () => {
      throw new VeilError('USAGE', 'expected a whole number', { field: '--jobs' });
    });
    expect(result).toEqual({ code: 2, stderr: 'veil: --jobs: expected a whole number\n' });
  });

  it('names the path and what the machine refused for file-system errors, exit 2', async () => {
    expect(await outcome(async () => { throw systemError('ENOSPC', '/data/out.csv'); })).toEqual({ code: 2, stderr: 'veil: /data/out.csv: no space left on the device\n' });
    expect(await outcome(async () => { throw systemError('EACCES'); })).toEqual({ code: 2, stderr: 'veil: permission denied\n' });
  });

  it('keeps everything else an internal error, exit 1', async () => {
    const result = await outcome(async () => { throw new TypeError('x is undefined'); });
    expect(result).toEqual({ code: 1, stderr: 'veil: internal error: x is undefined\n' });
    expect((await outcome(async () => { throw systemError('ECONNRESET'); })).code).toBe(1);
  });
});
