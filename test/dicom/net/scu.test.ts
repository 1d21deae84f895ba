import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetaGroup } from '../../../src/dicom/codec/metaGroup.js';
import { readDicom } from '../../../src/dicom/codec/read.js';
import { getText } from '../../../src/dicom/marking.js';
import { startScp, STATUS } from '../../../src/dicom/net/scp.js';
import { echo, sendInstances, type Destination, type OutgoingInstance } from '../../../src/dicom/net/scu.js';
import { sharedDicom } from '../helpers.js';
import { freePort } from './orthanc.js';

/**
 * Veil's own forwarding SCU (src/dicom/net/scu.ts) against dcmtk's storescp (several SOP
 * classes and transfer syntaxes in one association, a smaller maximum PDU than the data set, a
 * refused association, an abort in the middle of a data set) and against Veil's own SCP (a
 * failure and a warning status, a 2 MB data set whole).
 */
const hasDcmtk = spawnSync('sh', ['-c', 'command -v storescp'], { encoding: 'utf8' }).status === 0;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A Part-10 file as an outgoing instance: its meta group's UIDs and the data set bytes after it. */
function outgoing(file: string, stored: string[] = []): OutgoingInstance {
  const bytes = readFileSync(join(sharedDicom, file));
  const { sopClassUid, sopInstanceUid, transferSyntaxUid, datasetOffset } = readMetaGroup(bytes);
  return {
    sopClassUid,
    sopInstanceUid,
    transferSyntaxUid,
    dataset: bytes.subarray(datasetOffset),
    onStored: () => stored.push(sopInstanceUid),
  };
}

const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const step of cleanup.reverse()) step();
});

/** dcmtk storescp on a free port, with `args`; resolves once it accepts connections. */
async function storescp(args: string[]): Promise<{ destination: Destination; folder: string; child: ChildProcess }> {
  const port = await freePort();
  const folder = mkdtempSync(join(tmpdir(), 'veil-scu-'));
  const child = spawn('storescp', ['-aet', 'ARCHIVE', '-od', folder, ...args, String(port)], { stdio: 'ignore' });
  cleanup.push(() => {
    child.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { destination: { aeTitle: 'ARCHIVE', host: '127.0.0.1', port, callingAeTitle: 'VEIL' }, folder, child };
}

/**
 * A TCP relay to `target` that keeps what the client sent: the PDUs Veil put on the wire, as
 * (type, length) in order.
 */
async function relay(target: Destination): Promise<{ destination: Destination; pdus: () => { type: number; length: number }[] }> {
  const port = await freePort();
  const sent: Buffer[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect({ host: target.host, port: target.port });
    client.on('data', (chunk: Buffer) => {
      sent.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanup.push(() => server.close());
  const pdus = () => {
    const stream = Buffer.concat(sent);
    const out: { type: number; length: number }[] = [];
    for (let at = 0; at + 6 <= stream.length; at += 6 + stream.readUInt32BE(at + 2)) out.push({ type: stream[at], length: stream.readUInt32BE(at + 2) });
    return out;
  };
  return { destination: { ...target, port }, pdus };
}

/** The files storescp wrote, by SOP instance UID: their pixel data digest. */
function storedPixels(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(folder)) {
    const parsed = readDicom(readFileSync(join(folder, name)));
    const pixels = parsed.dataset.find((e) => e.tag === 0x7fe00010);
    out.set(getText(parsed.dataset, 0x00080018) ?? '', pixels?.value ? sha(pixels.value) : '');
  }
  return out;
}

function pixelsOf(file: string): string {
  const pixels = readDicom(readFileSync(join(sharedDicom, file))).dataset.find((e) => e.tag === 0x7fe00010);
  return pixels?.value ? sha(pixels.value) : '';
}

describe.skipIf(!hasDcmtk)('against dcmtk storescp', () => {
  it('stores several SOP classes and transfer syntaxes over one association, each in its own syntax, and answers C-ECHO', async () => {
    const archive = await storescp(['+xa']);
    const files = ['CT_small.dcm', 'MR_small_implicit.dcm', '693_J2KR.dcm', 'US1_UNCR.dcm', 'emri_small.dcm', 'SC_rgb_jpeg_dcmtk.dcm'];
    const stored: string[] = [];
    const instances = files.map((f) => outgoing(f, stored));
    expect(new Set(instances.map((i) => `${i.sopClassUid}|${i.transferSyntaxUid}`)).size).toBe(6);
    const watched = await relay(archive.destination);
    expect(await sendInstances(watched.destination, instances)).toEqual({ stored: 6, failed: 0 });
    expect(stored).toEqual(instances.map((i) => i.sopInstanceUid));
    // one association: one A-ASSOCIATE-RQ and one A-RELEASE-RQ
    expect(watched.pdus().filter((p) => p.type === 0x01)).toHaveLength(1);
    expect(watched.pdus().filter((p) => p.type === 0x05)).toHaveLength(1);
    const got = storedPixels(archive.folder);
    for (const file of files) {
      const uid = outgoing(file).sopInstanceUid;
      expect(got.get(uid)).toBe(pixelsOf(file));
    }
    // the transfer syntax each file was stored in is its own (no transcoding)
    for (const name of readdirSync(archive.folder)) {
      const parsed = readDicom(readFileSync(join(archive.folder, name)));
      const uid = getText(parsed.dataset, 0x00080018) ?? '';
      const source = instances.find((i) => i.sopInstanceUid === uid);
      expect(getText(parsed.meta, 0x00020010)).toBe(source?.transferSyntaxUid);
    }
    expect(await echo(archive.destination)).toBe(true);
  });

  it('sends no PDU longer than the receiver takes: a 513 KB data set to a 4096-byte maximum', async () => {
    const archive = await storescp(['-pdu', '4096']);
    const watched = await relay(archive.destination);
    const instance = outgoing('693_UNCR.dcm');
    expect(instance.dataset.length).toBeGreaterThan(500_000);
    expect(await sendInstances(watched.destination, [instance])).toEqual({ stored: 1, failed: 0 });
    const data = watched.pdus().filter((p) => p.type === 0x04);
    expect(data.length).toBeGreaterThan(100);
    expect(Math.max(...data.map((p) => p.length))).toBeLessThanOrEqual(4096);
    expect(storedPixels(archive.folder).get(instance.sopInstanceUid)).toBe(pixelsOf('693_UNCR.dcm'));
  });

  it('counts as failed an instance whose syntax the receiver does not accept, and sends the others (never transcoded)', async () => {
    // without +xa storescp takes the uncompressed syntaxes only
    const archive = await storescp([]);
    const stored: string[] = [];
    const instances = ['CT_small.dcm', '693_J2KR.dcm', 'MR_small_implicit.dcm'].map((f) => outgoing(f, stored));
    expect(await sendInstances(archive.destination, instances)).toEqual({ stored: 2, failed: 1 });
    expect(stored).toEqual([instances[0].sopInstanceUid, instances[2].sopInstanceUid]);
    expect([...storedPixels(archive.folder).keys()].sort()).toEqual([instances[0].sopInstanceUid, instances[2].sopInstanceUid].sort());
  });

  it('reports the whole batch failed when the association is refused, or nobody listens', async () => {
    const archive = await storescp(['--refuse']);
    const instances = ['CT_small.dcm', 'MR_small_implicit.dcm'].map((f) => outgoing(f));
    expect(await sendInstances(archive.destination, instances)).toEqual({ stored: 0, failed: 2 });
    expect(await echo(archive.destination)).toBe(false);
    const nobody = { ...archive.destination, port: await freePort() };
    expect(await sendInstances(nobody, instances)).toEqual({ stored: 0, failed: 2 });
    expect(await echo(nobody)).toBe(false);
  });

  it('reports what was confirmed when the receiver aborts in the middle of a data set', async () => {
    const archive = await storescp(['--abort-during']);
    const stored: string[] = [];
    const instances = ['693_UNCR.dcm', 'CT_small.dcm'].map((f) => outgoing(f, stored));
    expect(await sendInstances(archive.destination, instances)).toEqual({ stored: 0, failed: 2 });
    expect(stored).toEqual([]);
  });
});

describe("against Veil's own SCP", () => {
  it('counts a failure status as failed and a warning as stored, and goes on with the association', async () => {
    const port = await freePort();
    const statuses = [STATUS.outOfResources, 0xb000, STATUS.success, STATUS.cannotUnderstand];
    let n = 0;
    const scp = await startScp('127.0.0.1', port, {
      calledAeTitle: 'ARCHIVE',
      allowedCallers: [],
      onAssociation: () => undefined,
      onStore: () => ({ status: statuses[n++] ?? STATUS.success, comment: 'refused by the test' }),
    });
    try {
      const stored: string[] = [];
      const instances = ['CT_small.dcm', 'MR_small_implicit.dcm', 'US1_UNCR.dcm', 'MR_small_RLE.dcm'].map((f) => outgoing(f, stored));
      expect(await sendInstances({ aeTitle: 'ARCHIVE', host: '127.0.0.1', port, callingAeTitle: 'VEIL' }, instances)).toEqual({ stored: 2, failed: 2 });
      expect(stored).toEqual([instances[1].sopInstanceUid, instances[2].sopInstanceUid]);
    } finally {
      scp.close();
    }
  });

  it('delivers a 2 MB data set whole, over P-DATA-TFs that span socket chunks, loaded only when it is sent', async () => {
    const dataset = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < dataset.length; i++) dataset[i] = (i * 7919) & 0xff;
    const port = await freePort();
    let received: Buffer | undefined;
    const scp = await startScp('127.0.0.1', port, {
      calledAeTitle: 'VEIL',
      allowedCallers: [],
      onAssociation: () => undefined,
      onStore: (instance) => {
        received = Buffer.concat(instance.dataset);
        return { status: STATUS.success };
      },
    });
    try {
      let loads = 0;
      const result = await sendInstances({ aeTitle: 'VEIL', host: '127.0.0.1', port, callingAeTitle: 'TEST' }, [
        {
          sopClassUid: '1.2.840.10008.5.1.4.1.1.7',
          sopInstanceUid: '1.2.3.4',
          transferSyntaxUid: '1.2.840.10008.1.2.1',
          dataset: () => {
            loads++;
            return dataset;
          },
          onStored: () => undefined,
        },
      ]);
      expect(result).toEqual({ stored: 1, failed: 0 });
      expect(loads).toBe(1);
      expect(received && sha(received)).toBe(sha(dataset));
    } finally {
      scp.close();
    }
  });
});
