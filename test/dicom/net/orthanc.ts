import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Whether the Orthanc binary is installed (.ci/run installs the Debian package). */
export const hasOrthanc = spawnSync('sh', ['-c', 'command -v Orthanc'], { encoding: 'utf8' }).status === 0;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Orthanc {
  aeTitle: string;
  dicomPort: number;
  url: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: Uint8Array | string): Promise<{ status: number; json: T }>;
  stop(): void;
}

/**
 * A throw-away Orthanc on loopback with a generated config (its own storage folder, no
 * authentication, DICOMweb plugin), as in ../shared/NOTES.md.
 */
export async function startOrthanc(dir: string, aeTitle: string, modalities: Record<string, [string, string, number]>, extra: Record<string, unknown> = {}): Promise<Orthanc> {
  mkdirSync(dir, { recursive: true });
  const [httpPort, dicomPort] = [await freePort(), await freePort()];
  const config = {
    Name: aeTitle,
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aeTitle,
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    HttpBindAddress: '127.0.0.1',
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
    DicomModalities: modalities,
    DicomAlwaysAllowStore: true,
    DicomCheckCalledAet: false,
    DicomScuTimeout: 10,
    ...extra,
  };
  const configPath = join(dir, 'orthanc.json');
  writeFileSync(configPath, JSON.stringify(config));
  const child: ChildProcess = spawn('Orthanc', [configPath], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${httpPort}`;
  const orthanc: Orthanc = {
    aeTitle,
    dicomPort,
    url,
    async get<T>(path: string): Promise<T> {
      const response = await fetch(url + path);
      if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
      const type = response.headers.get('content-type') ?? '';
      return (type.includes('json') ? await response.json() : Buffer.from(await response.arrayBuffer())) as T;
    },
    async post<T>(path: string, body: Uint8Array | string): Promise<{ status: number; json: T }> {
      const response = await fetch(url + path, { method: 'POST', body });
      const text = await response.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      return { status: response.status, json: json as T };
    },
    stop: () => {
      child.kill('SIGTERM');
    },
  };
  for (let i = 0; i < 100; i++) {
    try {
      await orthanc.get('/system');
      return orthanc;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  orthanc.stop();
  throw new Error(`Orthanc ${aeTitle} did not answer on ${url}`);
}
