import { spawn, type ChildProcess } from 'node:child_process';
import { readDicom } from '../../../src/dicom/codec/read.js';
import { getText } from '../../../src/dicom/marking.js';
import type { OutgoingInstance } from '../../../src/dicom/net/index.js';
import { startScp } from '../../../src/dicom/net/dimse.js';
import { veilArgs } from '../../helpers.js';
import { repoRoot } from '../helpers.js';
import { freePort } from './orthanc.js';

/** `veil dicom listen` as a real process, for the listener's tests. */
export const SECRET = 'listen-test-secret-0123456789';

/** The data set bytes after the meta group of a Part-10 file. */
export function datasetBytes(bytes: Buffer): Buffer {
  return bytes.subarray(144 + bytes.readUInt32LE(140));
}

export interface Running {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

export async function startListen(args: string[], port?: number): Promise<Running> {
  const listenPort = port ?? (await freePort());
  const child = spawn(process.execPath, veilArgs(['dicom', 'listen', '--port', String(listenPort), '--ae-title', 'VEIL', '--host', '127.0.0.1', '--jobs', '1', ...args]), {
    cwd: repoRoot,
    env: { ...process.env, VEIL_SECRET: SECRET, CI: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // a guard only: under a heavy load a tsx process can take many seconds to start
  for (let i = 0; i < 1200 && !stderr.includes('listening on'); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!stderr.includes('listening on')) throw new Error(`listener did not start: ${stderr}`);
  return { child, port: listenPort, stderr: () => stderr, exited };
}

export async function waitFor(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** What a test SCU sends for a Part-10 file: its SOP class, instance, transfer syntax and data set. */
export function outgoing(file: Buffer): OutgoingInstance {
  const meta = readDicom(file).meta;
  return { sopClassUid: getText(meta, 0x00020002) ?? '', sopInstanceUid: getText(meta, 0x00020003) ?? '', transferSyntaxUid: getText(meta, 0x00020010) ?? '', dataset: datasetBytes(file), onStored: () => undefined };
}

export interface CountingArchive {
  port: number;
  /** Deliveries of each SOPInstanceUID: every delivery of every instance is seen. */
  deliveries: Map<string, number>;
  close(): void;
}

/** A C-STORE SCP called RESEARCH that counts each delivery of each instance (into `deliveries`, on `port` when given). */
export async function countingArchive(port?: number, deliveries = new Map<string, number>()): Promise<CountingArchive> {
  const archivePort = port ?? (await freePort());
  const scp = await startScp('127.0.0.1', archivePort, {
    calledAeTitle: 'RESEARCH',
    allowedCallers: [],
    onAssociation: () => undefined,
    onStore: (instance) => {
      deliveries.set(instance.sopInstanceUid, (deliveries.get(instance.sopInstanceUid) ?? 0) + 1);
      return { status: 0 };
    },
  });
  return { port: archivePort, deliveries, close: () => scp.close() };
}
