import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { veilArgs } from '../helpers.js';
import { REPO_ROOT, startTestApi, type TestApi } from './helpers.js';

/** Issue 13 item 9: rate limiting by client address before authentication; loopback by default. */
let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const PER_IP = 8;

beforeAll(async () => {
  t = await startTestApi({ limits: { rateLimitPerMinute: 5, rateLimitPerIpPerMinute: PER_IP } });
});
afterAll(async () => {
  await t.close();
});

describe('rate limit per client address (issue 13, item 9)', () => {
  it('counts requests with unknown keys: past the address limit they get 429 with the JSON shape, valid keys from that address too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PER_IP; i++) {
      const res = await request(t.api.app).get('/v1/jobs').set(bearer(`veil_guessed_key_${i}`));
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array.from({ length: PER_IP }, () => 401));
    const limited = await request(t.api.app).get('/v1/jobs').set(bearer('veil_guessed_key_last'));
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(limited.body.error.message).toContain('address');
    expect(limited.headers['ratelimit-policy']).toContain('per-address');
    const noKey = await request(t.api.app).get('/v1/jobs');
    expect(noKey.status).toBe(429);
    const valid = await request(t.api.app).get('/v1/jobs').set(bearer(t.keys.auditor));
    expect(valid.status).toBe(429);
    // health checks are outside /v1 and stay answerable
    expect([200, 503]).toContain((await request(t.api.app).get('/healthz')).status);
  });

  it('keeps the per-key limit after authentication', async () => {
    const u = await startTestApi({ limits: { rateLimitPerMinute: 3, rateLimitPerIpPerMinute: 100 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await request(u.api.app).get('/v1/jobs').set(bearer(u.keys.researcher))).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const other = await request(u.api.app).get('/v1/jobs').set(bearer(u.keys.researcher2));
      expect(other.status).toBe(200);
    } finally {
      await u.close();
    }
  });
});

/** The sockets in LISTEN state on `port`, as "address" strings from /proc/net/tcp and tcp6. */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== '0A') continue;
      const [addressHex, portHex] = fields[1].split(':');
      if (parseInt(portHex, 16) !== port) continue;
      found.push(decodeAddress(addressHex));
    }
  }
  return found;
}

/** /proc/net/tcp writes addresses as host-order 32-bit words (little-endian here). */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => (word.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 0) return '::';
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function serveAndReadAddress(extraArgs: string[]): Promise<{ printed: string; addresses: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'veil-host-'));
  const child = spawn(process.execPath, veilArgs(['serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', '--no-preview-warmup', ...extraArgs]), {
    cwd: REPO_ROOT,
    env: { ...process.env, VEIL_SECRET: 'host-test-secret-0123456789' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const printed = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = /listening on (http:\/\/\S+)/.exec(stdout);
        if (line) resolve(line[1]);
      });
      child.once('exit', (code) => reject(new Error(`server exited (${String(code)}): ${stderr}`)));
    });
    const port = Number(/:(\d+)$/.exec(printed)?.[1]);
    return { printed, addresses: listeningAddresses(port) };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('veil serve exposure (issue 13, item 9)', () => {
  it('listens on 127.0.0.1 only when --host is not given', async () => {
    const { printed, addresses } = await serveAndReadAddress([]);
    expect(printed).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(addresses).toEqual(['127.0.0.1']);
  });

  it('opens to every interface with --host 0.0.0.0', async () => {
    const { printed, addresses } = await serveAndReadAddress(['--host', '0.0.0.0']);
    expect(printed).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(addresses).toEqual(['0.0.0.0']);
  });
});
