import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFromEnv, dicomWebServer, findStudies } from '../../../src/dicom/net/dicomweb.js';

/** A QIDO-RS stand-in holding `count` studies; `honoursOffset: false` mimics a server that ignores offset. */
function qidoServer(count: number, honoursOffset: boolean) {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    asked.push(url.search);
    const limit = Number(url.searchParams.get('limit') ?? count);
    const offset = honoursOffset ? Number(url.searchParams.get('offset') ?? 0) : 0;
    const page = Array.from({ length: count }, (_, i) => ({ '0020000D': { vr: 'UI', Value: [`1.2.3.${i + 1}`] } })).slice(offset, offset + limit);
    res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(page));
  });
  return { server, asked };
}

describe('QIDO-RS paging', () => {
  const honest = qidoServer(7, true);
  const stubborn = qidoServer(7, false);
  const urls: string[] = [];
  beforeAll(async () => {
    for (const { server } of [honest, stubborn]) {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const address = server.address();
      urls.push(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dicom-web`);
    }
  });
  afterAll(() => {
    honest.server.close();
    stubborn.server.close();
  });

  it('asks pages with limit and offset until a short page, and finds every study', async () => {
    const uids = await findStudies(dicomWebServer(urls[0], '--from'), new URLSearchParams('PatientID=X'), 3);
    expect(uids).toEqual(Array.from({ length: 7 }, (_, i) => `1.2.3.${i + 1}`));
    expect(honest.asked.map((q) => new URLSearchParams(q).get('offset'))).toEqual(['0', '3', '6']);
    expect(new URLSearchParams(honest.asked[0]).get('PatientID')).toBe('X');
  });

  it('stops when a server ignores offset (a page brings nothing new), and leaves a limit the user set alone', async () => {
    const uids = await findStudies(dicomWebServer(urls[1], '--from'), new URLSearchParams(), 3);
    expect(uids).toEqual(['1.2.3.1', '1.2.3.2', '1.2.3.3']);
    expect(stubborn.asked).toHaveLength(2);
    const limited = await findStudies(dicomWebServer(urls[0], '--from'), new URLSearchParams('limit=2'), 3);
    expect(limited).toEqual(['1.2.3.1', '1.2.3.2']);
  });
});

describe('DICOMweb server URL and auth', () => {
  it('takes userinfo as basic auth and keeps it out of the shown URL; a token wins', () => {
    const server = dicomWebServer('http://bob:p%40ss@pacs.example:8042/dicom-web/', '--from');
    expect(server.shown).toBe('http://pacs.example:8042/dicom-web');
    expect(server.authorization).toBe(`Basic ${Buffer.from('bob:p@ss').toString('base64')}`);
    expect(dicomWebServer('http://bob:x@pacs/dw', '--from', { token: 't' }).authorization).toBe('Bearer t');
  });
  it('refuses what is not an http(s) base URL', () => {
    for (const bad of ['pacs:8042', 'ftp://pacs/dw', 'http://pacs/dw?PatientID=1', 'not a url']) expect(() => dicomWebServer(bad, '--from'), bad).toThrow(/--from|URL/);
  });
  it('reads per-side variables before the shared ones', () => {
    expect(authFromEnv({ VEIL_DICOMWEB_TOKEN: 'shared', VEIL_DICOMWEB_TO_TOKEN: 'to' }, 'TO')).toEqual({ token: 'to' });
    expect(authFromEnv({ VEIL_DICOMWEB_TOKEN: 'shared' }, 'FROM')).toEqual({ token: 'shared' });
    expect(authFromEnv({ VEIL_DICOMWEB_FROM_USER: 'u' }, 'FROM')).toEqual({ user: 'u', password: '' });
    expect(authFromEnv({}, 'FROM')).toEqual({});
  });
});
