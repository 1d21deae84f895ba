import dimse from 'dcmjs-dimse';
import { describe, expect, it } from 'vitest';
import { parseCommand, writeCommand } from '../../../src/dicom/net/dimseCommand.js';

/**
 * The direct command-set codec against dcmjs-dimse's own (this file does not load dimse.ts,
 * which installs the direct codec into the library): the same bytes written, the same
 * naturalized object read, for C-STORE and C-ECHO requests and responses with seeded values;
 * anything else is left to the library.
 */
const { Dataset } = dimse;
const { CStoreRequest, CEchoRequest, CFindRequest } = dimse.requests;
const { CStoreResponse, CEchoResponse } = dimse.responses;
const IMPLICIT_LE = '1.2.840.10008.1.2';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Command = { getCommandDataset(): InstanceType<typeof Dataset> };

function commands(count: number): Command[] {
  const random = seeded(16);
  const int = (n: number) => Math.floor(random() * n);
  const uid = () => `1.2.826.0.1.3680043.8.498.${Array.from({ length: 1 + int(6) }, () => int(100000)).join('.')}`;
  const out: Command[] = [];
  for (let i = 0; i < count; i++) {
    const dataset = new Dataset({ SOPClassUID: `1.2.840.10008.5.1.4.1.1.${1 + int(12)}`, SOPInstanceUID: uid() }, '1.2.840.10008.1.2.1');
    const store = new CStoreRequest(dataset, int(3));
    store.setMessageId(1 + int(65535));
    const stored = CStoreResponse.fromRequest(store);
    stored.setStatus([0x0000, 0xa700, 0xa900, 0xc000, 0xb000][int(5)]);
    if (random() < 0.5) stored.setErrorComment(['damaged data set (unexpected end)', 'spool write failed', 'x', 'no data set received '][int(4)]);
    const ping = new CEchoRequest();
    ping.setMessageId(1 + int(65535));
    const pong = CEchoResponse.fromRequest(ping);
    pong.setStatus(0);
    out.push(store, stored, ping, pong);
  }
  return out;
}

describe('DIMSE command sets read and written directly', () => {
  it('writes the bytes dcmjs-dimse writes and reads back what it reads', () => {
    for (const command of commands(150)) {
      const dataset = command.getCommandDataset();
      const expected = dataset.getDenaturalizedCommandDataset();
      const written = writeCommand(dataset.getElements());
      expect(written?.toString('hex')).toBe(expected.toString('hex'));
      expect(parseCommand(expected)).toEqual(new Dataset(expected, IMPLICIT_LE).getElements());
    }
  });

  it('leaves other commands and malformed bytes to the library', () => {
    const find = new CFindRequest();
    const elements = find.getCommandDataset().getElements();
    expect(Object.keys(elements)).toContain('AffectedSOPClassUID');
    expect(writeCommand({ ...elements, RequestedSOPInstanceUID: '1.2.3' })).toBeUndefined();
    const bytes = new CStoreRequest(new Dataset({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: '1.2.3' }, IMPLICIT_LE)).getCommandDataset().getDenaturalizedCommandDataset();
    expect(parseCommand(bytes.subarray(0, bytes.length - 3))).toBeUndefined();
    const data = Buffer.from(bytes);
    data.writeUInt16LE(0x0008, 12); // a data set element, not a command
    expect(parseCommand(data)).toBeUndefined();
  });
});
