/**
 * `veil dicom listen` throughput: N copies (default 600) of a 512×512 16-bit CT slice
 * (693_UNCR.dcm) with their own SOP instance UIDs, in studies of 100 slices, sent by C-STORE
 * over one association to an in-process listener (Basic Profile, `--study-idle 1`, 2 workers)
 * that forwards them to a counting C-STORE SCP on loopback. Prints instances/s received
 * (sender's view: acknowledged, i.e. fsynced to the spool) and instances/s from the first
 * C-STORE to the last forwarded one. Never asserts. `npx tsx bench/net.bench.ts [copies]`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDicom } from '../src/dicom/codec/read.js';
import { writeDicom } from '../src/dicom/codec/write.js';
import { encodeText } from '../src/dicom/codec/values.js';
import { setElement } from '../src/dicom/marking.js';
import { startListener, sendInstances, type OutgoingInstance } from '../src/dicom/net/index.js';
import { startScp } from '../src/dicom/net/dimse.js';
import { parsePolicy, unwrap } from '../src/policy/load.js';
import { freePort } from '../test/dicom/net/orthanc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const copies = Number(process.argv[2] ?? 600);
const template = readDicom(readFileSync(path.resolve(root, '../shared/data/dicom/693_UNCR.dcm')));
const sopClass = '1.2.840.10008.5.1.4.1.1.2';
const syntax = template.transferSyntax.uid;

function copy(i: number): OutgoingInstance {
  const dataset = [...template.dataset];
  const study = Math.floor(i / 100);
  const text = (tag: number, vr: string, value: string) => setElement(dataset, { tag, vr, value: encodeText(value) });
  text(0x00080018, 'UI', `1.2.826.0.1.3680043.8.498.9.${i + 1}`);
  text(0x0020000d, 'UI', `1.2.826.0.1.3680043.8.498.8.${study + 1}`);
  text(0x00100020, 'LO', `BENCH${study}`);
  const chunks = writeDicom({ ...template, dataset });
  const bytes = Buffer.concat(chunks);
  return { sopClassUid: sopClass, sopInstanceUid: `1.2.826.0.1.3680043.8.498.9.${i + 1}`, transferSyntaxUid: syntax, dataset: bytes.subarray(144 + bytes.readUInt32LE(140)), onStored: () => undefined };
}

const work = mkdtempSync(path.join(tmpdir(), 'veil-net-bench-'));
try {
  const instances = Array.from({ length: copies }, (_, i) => copy(i));
  let forwarded = 0;
  let lastForwardAt = 0;
  const researchPort = await freePort();
  const research = await startScp('127.0.0.1', researchPort, {
    calledAeTitle: 'RESEARCH',
    allowedCallers: [],
    onAssociation: () => undefined,
    onStore: () => {
      forwarded++;
      lastForwardAt = performance.now();
      return { status: 0 };
    },
  });
  const port = await freePort();
  const policy = unwrap(parsePolicy('name: bench\nversion: 1\ndicom: { profile: basic }\n', { file: 'bench.yaml', baseDir: work }));
  const listener = await startListener({
    policy,
    secret: Buffer.from('net-bench-secret-0123456789'),
    host: '127.0.0.1',
    port,
    aeTitle: 'VEIL',
    forward: { aeTitle: 'RESEARCH', host: '127.0.0.1', port: researchPort, callingAeTitle: 'VEIL' },
    spool: path.join(work, 'spool'),
    studyIdleSeconds: 1,
    jobs: 2,
  });
  const started = performance.now();
  const sent = await sendInstances({ aeTitle: 'VEIL', host: '127.0.0.1', port, callingAeTitle: 'BENCH' }, instances);
  const receivedAt = performance.now();
  await listener.idle();
  while (forwarded < sent.stored) await new Promise((r) => setTimeout(r, 20));
  await listener.close();
  research.close();
  const receiveS = (receivedAt - started) / 1000;
  const totalS = (lastForwardAt - started) / 1000;
  console.log(`net: ${copies} CT 512² copies (${(instances[0].dataset.length / 1024).toFixed(0)} KB each), ${sent.stored} acknowledged, ${forwarded} forwarded`);
  console.log(`net: received (fsynced, acknowledged) ${(sent.stored / receiveS).toFixed(0)} instances/s; received → forwarded ${(forwarded / totalS).toFixed(0)} instances/s (${totalS.toFixed(1)} s)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
