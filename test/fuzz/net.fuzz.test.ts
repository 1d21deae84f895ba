/**
 * Garbage and mutated association requests against `veil dicom listen` in process: a peer
 * that sends a broken PDU may be refused or dropped, but the listener must stay up (no
 * uncaught exception) and still answer a C-ECHO and take a good instance afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo } from '../../src/dicom/net/dimse.js';
import { startListener, type Listener } from '../../src/dicom/net/listen.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { fuzzSeed, mutate, NO_PROBLEMS, Prng, problemsOf, Tally } from './fuzz.js';

const SEED = fuzzSeed(1309);
const CASES = 150;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The first PDU a real client sends (its A-ASSOCIATE-RQ for a C-ECHO), recorded from the wire. */
async function recordAssociateRequest(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const server = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await echo({ aeTitle: 'VEIL', host: '127.0.0.1', port, callingAeTitle: 'FUZZ' });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return Buffer.concat(chunks);
}

/**
 * Sends bytes on a fresh connection, then ends it (as a peer that hangs up), and waits until the
 * listener answers or closes its side, or 300 ms pass. The end lets the listener close as soon
 * as it has read everything, rather than each case waiting out the 300 ms.
 */
function sendRaw(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(bytes);
      setTimeout(() => socket.destroy(), 300);
    });
    socket.on('data', () => socket.destroy());
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

describe(`DICOM network fuzz (seed ${SEED})`, () => {
  const work = mkdtempSync(join(tmpdir(), 'veil-fuzz-net-'));
  const tally = new Tally();
  let listener: Listener;
  let port = 0;
  let request: Buffer = Buffer.alloc(0);
  const uncaught: string[] = [];
  const onUncaught = (error: Error) => uncaught.push(`${error.name}: ${error.message.slice(0, 120)}`);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    request = await recordAssociateRequest();
    port = await freePort();
    const text = 'name: fz-net\nversion: 1\ndicom: { profile: basic }\n';
    listener = await startListener({
      policy: unwrap(parsePolicy(text, { file: join(work, 'p.yaml'), baseDir: work })),
      secret: Buffer.from('fuzz-net-secret-0123456789'),
      host: '127.0.0.1',
      port,
      aeTitle: 'VEIL',
      out: join(work, 'out'),
      spool: join(work, 'spool'),
      studyIdleSeconds: 1,
      jobs: 1,
    });
  });
  afterAll(async () => {
    await listener.close();
    process.off('uncaughtException', onUncaught);
    rmSync(work, { recursive: true, force: true });
    console.log(tally.summary(`net seed=${SEED}`));
  });

  it(`${CASES} broken PDUs: the listener stays up and still answers a C-ECHO`, async () => {
    expect(request[0], 'the recorded PDU is an A-ASSOCIATE-RQ').toBe(0x01);
    const rng = new Prng(SEED);
    for (let n = 0; n < CASES; n++) {
      const roll = rng.next();
      const { bytes, how } =
        roll < 0.1
          ? { bytes: Buffer.from(Array.from({ length: 1 + rng.int(2000) }, () => rng.int(256))), how: 'random bytes' }
          : roll < 0.2
            ? (() => {
                // a PDU header promising far more than is sent
                const copy = Buffer.from(request);
                copy.writeUInt32BE(rng.pick([0, 1, 0x7fffffff, 0xffffffff, copy.length * 10]), 2);
                return { bytes: copy, how: `PDU length set to ${copy.readUInt32BE(2)}` };
              })()
            : mutate(rng, request);
      await sendRaw(port, bytes);
      const id = `net seed=${SEED} case=${n} (${how})`;
      tally.record('pdu', id, uncaught.length > 0 ? { kind: 'internal', what: uncaught.splice(0).join('; ') } : { kind: 'ok' });
      if (n % 25 === 24 && !(await echo({ aeTitle: 'VEIL', host: '127.0.0.1', port, callingAeTitle: 'FUZZ' }))) {
        tally.record('pdu', `${id} then C-ECHO`, { kind: 'internal', what: 'the listener no longer answers a C-ECHO' });
      }
    }
    expect(await echo({ aeTitle: 'VEIL', host: '127.0.0.1', port, callingAeTitle: 'FUZZ' })).toBe(true);
    expect(problemsOf(tally, 'net')).toEqual(NO_PROBLEMS);
  }, 300_000);
});
