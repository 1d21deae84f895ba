import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scanRecords, SegmentLog } from '../../../src/dicom/net/segmentLog.js';
import { Spool } from '../../../src/dicom/net/spool.js';

/** The listener's receipt log on its own: records written by many writers at once, read back after a "crash". */
const works: string[] = [];
function work(): string {
  const dir = mkdtempSync(join(tmpdir(), 'veil-segment-log-'));
  works.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of works.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Instance i's bytes: distinct, and large enough to span several pages. */
function bytesOf(i: number): Buffer {
  const out = Buffer.alloc(20_000 + i * 37);
  for (let at = 0; at < out.length; at++) out[at] = (at * 31 + i * 7) & 0xff;
  return out;
}

function logFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.log'));
}

describe('SegmentLog', () => {
  it('records appended at once by many writers are durable with fewer flushes than records, and read back whole', async () => {
    const dir = work();
    const log = new SegmentLog(dir);
    await Promise.all(Array.from({ length: 24 }, (_, i) => log.append(`seg-${i % 3}`, `key-${i}`, [bytesOf(i).subarray(0, 100), bytesOf(i).subarray(100)])));
    expect(log.syncs).toBeGreaterThan(0);
    expect(log.syncs).toBeLessThan(24);
    await log.close();

    // a new run (after kill -9) finds every record, byte for byte
    const again = new SegmentLog(dir);
    const { needed, done } = again.recover();
    expect(done.size).toBe(0);
    expect(needed.map((r) => r.key).sort()).toEqual(Array.from({ length: 24 }, (_, i) => `key-${i}`).sort());
    let read = 0;
    for (const { record, bytes } of again.payloads(needed)) {
      expect(bytes.equals(bytesOf(Number(record.key.slice(4))))).toBe(true);
      read++;
    }
    expect(read).toBe(24);
  });

  it('a torn last record is dropped on restart; the intact records before it are kept; a damaged record in the middle hides nothing after it', async () => {
    const dir = work();
    const log = new SegmentLog(dir);
    for (let i = 0; i < 4; i++) await log.append('seg', `key-${i}`, [bytesOf(i)]);
    await log.close();
    const [file] = logFiles(dir);
    const records = [...scanRecords(readFileSync(join(dir, file)))];
    expect(records.map((r) => r.key)).toEqual(['key-0', 'key-1', 'key-2', 'key-3']);

    // the last record cut in the middle of its payload (a write the power cut interrupted)
    truncateSync(join(dir, file), records[3].start + Math.floor((records[3].end - records[3].start) / 2));
    expect(new SegmentLog(dir).recover().needed.map((r) => r.key)).toEqual(['key-0', 'key-1', 'key-2']);

    // a record whose payload is damaged (one byte changed) is skipped, the records after it are kept
    const bytes = readFileSync(join(dir, file));
    bytes[records[1].end - 10] ^= 0xff;
    const damaged = join(dir, file);
    rmSync(damaged);
    appendFileSync(damaged, bytes);
    expect(new SegmentLog(dir).recover().needed.map((r) => r.key)).toEqual(['key-0', 'key-2']);
  });

  it('a finished segment is not needed; a log file is removed once none of its records is needed', async () => {
    const dir = work();
    // small files: each record starts a new one once the file holds 30 KB
    const log = new SegmentLog(dir, 30_000);
    for (let i = 0; i < 4; i++) await log.append(i < 2 ? 'first' : 'second', `key-${i}`, [bytesOf(i)]);
    expect(logFiles(dir).length).toBeGreaterThan(1);
    await log.finish('first');
    log.settle('first', () => Promise.resolve());
    await log.settled();
    // what is left holds the second segment's records (and the first one's done record, while needed)
    expect(new SegmentLog(dir).recover().needed.map((r) => r.key)).toEqual(['key-2', 'key-3']);

    await log.finish('second');
    log.settle('second', () => Promise.resolve());
    await log.settled();
    expect(logFiles(dir)).toEqual([]);
    expect(log.removedFiles).toBeGreaterThan(1);
    await log.close();
  });

  it("a restart removes the files of finished segments at once and keeps appending to a new file", async () => {
    const dir = work();
    const first = new SegmentLog(dir);
    await first.append('a', 'k1', [bytesOf(1)]);
    await first.append('b', 'k2', [bytesOf(2)]);
    await first.finish('a');
    await first.close();
    const second = new SegmentLog(dir);
    const { needed, done } = second.recover();
    expect([...done]).toEqual(['a']);
    expect(needed.map((r) => r.key)).toEqual(['k2']);
    second.removeUnneededNow();
    // b is not finished: the file stays
    expect(logFiles(dir)).toHaveLength(1);
    await second.append('c', 'k3', [bytesOf(3)]);
    expect(logFiles(dir)).toHaveLength(2);
    await second.finish('b');
    second.settle('b', () => Promise.resolve());
    await second.finish('c');
    second.settle('c', () => Promise.resolve());
    await second.settled();
    expect(logFiles(dir)).toEqual([]);
    await second.close();
  });
});

describe('Spool with its log', () => {
  const secret = new Uint8Array(Buffer.from('segment-log-test-secret-0123'));

  it('an instance file lost after the answer (never fsynced) is re-made from the log on start, in incoming/ or in its batch', async () => {
    const root = work();
    const spool = new Spool(root, secret);
    // as the listener does: durable in the log (then answered), the file written apart
    const keep = async (segment: string, key: string, bytes: Buffer) => {
      await spool.store(segment, key, [bytes]);
      await spool.writeInstance(segment, key, [bytes]);
    };
    await keep('study-1', 'k1', bytesOf(1));
    await keep('study-1', 'k2', bytesOf(2));
    await keep('study-2', 'k3', bytesOf(3));
    const batch = spool.batchFor('study-2', Date.now());
    await spool.release('study-2', batch);
    await spool.log.close();
    // the files were written without fsync: a power cut may lose them
    rmSync(join(root, 'incoming', 'study-1', 'k1.dcm'));
    rmSync(join(root, 'incoming', 'study-1', 'k2.dcm'));
    truncateSync(join(batch, 'in', 'k3.dcm'), 10);

    const again = new Spool(root, secret);
    expect(again.recoverLog()).toBe(3);
    expect(readFileSync(join(root, 'incoming', 'study-1', 'k1.dcm')).equals(bytesOf(1))).toBe(true);
    expect(readFileSync(join(root, 'incoming', 'study-1', 'k2.dcm')).equals(bytesOf(2))).toBe(true);
    expect(readFileSync(join(batch, 'in', 'k3.dcm')).equals(bytesOf(3))).toBe(true);

    // a quarantined instance is not made again; a finished batch is gone with its log
    await again.dropInstance(batch, 'k3');
    await again.finishBatch(batch);
    await again.settled();
    await again.log.close();
    const third = new Spool(root, secret);
    expect(third.recoverLog()).toBe(2);
    expect(readdirSync(join(root, 'batches'))).toEqual([]);
    await third.log.close();
  });
});
