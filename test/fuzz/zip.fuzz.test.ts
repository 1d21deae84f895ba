/**
 * Broken, hostile and mutated zips through extractZipSafely (the API's zip reader) and
 * through POST /v1/dicom/jobs in process. Every case must extract whole or be refused with a
 * documented code, and a refused archive must leave no file in the destination.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractZipSafely, type ZipLimits } from '../../src/api/zip.js';
import { startTestApi, type TestApi } from '../api/helpers.js';
import { sharedData, tempDir } from '../helpers.js';
import { fuzzSeed, mutate, NO_PROBLEMS, outcomeOfError, Prng, problemsOf, Tally, type Outcome } from './fuzz.js';

const SEED = fuzzSeed(1304);
const LIBRARY_CASES = 500;
const API_CASES = 100;
const LIMITS: ZipLimits = { maxEntries: 50, maxTotalBytes: 8 * 1024 * 1024, maxRatio: 1100 };

const SAMPLES = ['CT_small.dcm', 'MR_small.dcm', 'rtstruct.dcm', 'UN_sequence.dcm'].map((f) => new Uint8Array(readFileSync(join(sharedData, 'dicom', f))));

function entries(rng: Prng, count: number, name: (i: number) => string = (i) => `study/${i}.dcm`): Zippable {
  const files: Zippable = {};
  for (let i = 0; i < count; i++) files[name(i)] = [rng.pick(SAMPLES), { level: rng.pick([0, 1, 6, 9] as const) }];
  return files;
}

/** Zips of one entry of zero bytes, made once per size (deflating megabytes is the slow part). */
const zeroZips = new Map<number, Buffer>();
function zerosZip(name: string, size: number): Buffer {
  let zip = zeroZips.get(size);
  if (!zip) {
    zip = Buffer.from(zipSync({ [name]: [new Uint8Array(size), { level: 9 }] }));
    zeroZips.set(size, zip);
  }
  return zip;
}

/** Offset of the end-of-central-directory record (last PK\5\6). */
function eocd(zip: Buffer): number {
  return zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
}

function nextZip(rng: Prng): { bytes: Buffer; limits: ZipLimits; how: string } {
  const plain = () => Buffer.from(zipSync(entries(rng, 1 + rng.int(4))));
  switch (rng.int(13)) {
    case 0: {
      const zip = plain();
      const cut = rng.int(zip.length);
      return { bytes: zip.subarray(0, cut), limits: LIMITS, how: `truncated at ${cut} of ${zip.length}` };
    }
    case 1: {
      const zip = plain();
      const at = eocd(zip);
      const copy = Buffer.from(zip);
      const flips = 1 + rng.int(6);
      for (let i = 0; i < flips; i++) {
        const where = Math.max(0, at - rng.int(200)) + rng.int(22);
        if (where < copy.length) copy[where] ^= 1 + rng.int(255);
      }
      return { bytes: copy, limits: LIMITS, how: `central directory: ${flips} byte(s) flipped` };
    }
    case 2: {
      const zip = plain();
      const copy = Buffer.from(zip);
      copy.writeUInt16LE(rng.pick([1, 6, 12, 14, 99, 0xffff]), 8);
      return { bytes: copy, limits: LIMITS, how: `first entry's compression method ${copy.readUInt16LE(8)}` };
    }
    case 3: {
      const copy = Buffer.from(plain());
      copy.writeUInt16LE(copy.readUInt16LE(6) | rng.pick([0x1, 0x8, 0x41]), 6);
      return { bytes: copy, limits: LIMITS, how: `first entry's flags 0x${copy.readUInt16LE(6).toString(16)} (encrypted / data descriptor)` };
    }
    case 4: {
      const copy = Buffer.from(plain());
      const field = rng.pick([18, 22]);
      copy.writeUInt32LE(rng.pick([0, 1, 0xffffffff, 0x7fffffff]), field);
      return { bytes: copy, limits: LIMITS, how: `first entry's ${field === 18 ? 'compressed' : 'expanded'} size a lie (${copy.readUInt32LE(field)})` };
    }
    case 5: {
      const bad = rng.pick(['../escape.dcm', '/etc/x.dcm', 'C:/x.dcm', 'a\\..\\b.dcm', 'a/../../b.dcm', 'ok/..', 'nul\u0000.dcm']);
      const files = entries(rng, 1 + rng.int(3));
      files[bad] = [SAMPLES[0], { level: 1 }];
      return { bytes: Buffer.from(zipSync(files)), limits: LIMITS, how: `zip slip name ${JSON.stringify(bad)}` };
    }
    case 6: {
      const size = (2 + rng.int(3)) * 1024 * 1024;
      return { bytes: zerosZip('bomb.dcm', size), limits: { ...LIMITS, maxTotalBytes: 1024 * 1024 }, how: `bomb of ${size} zero bytes over a 1 MiB limit` };
    }
    case 7: {
      const size = (3 + rng.int(2)) * 1024 * 1024 / 2;
      return { bytes: zerosZip('ratio.dcm', size), limits: { ...LIMITS, maxRatio: 50 }, how: `${size} zero bytes over a ratio limit of 50` };
    }
    case 8: {
      const count = 6 + rng.int(20);
      return { bytes: Buffer.from(zipSync(entries(rng, count))), limits: { ...LIMITS, maxEntries: 5 }, how: `${count} entries over a limit of 5` };
    }
    case 9: {
      const files: Zippable = { 'dir/': new Uint8Array(0), '__MACOSX/._a.dcm': SAMPLES[1], '.hidden.dcm': SAMPLES[0] };
      return { bytes: Buffer.from(zipSync(files)), limits: LIMITS, how: 'only folders, __MACOSX and hidden files' };
    }
    case 10: {
      const zip = plain();
      return { bytes: Buffer.concat([zip, zip]), limits: LIMITS, how: 'two archives back to back' };
    }
    case 11: {
      const zip = plain();
      const junk = Buffer.alloc(1 + rng.int(512));
      for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
      return { bytes: Buffer.concat([zip.subarray(0, 30), junk]), limits: LIMITS, how: `a local header followed by ${junk.length} random bytes` };
    }
    default: {
      const { bytes, how } = mutate(rng, plain());
      // keep the PK\3\4 head most of the time, so the API treats it as a zip
      if (rng.chance(0.8) && bytes.length >= 4) bytes.writeUInt32LE(0x04034b50, 0);
      return { bytes, limits: LIMITS, how };
    }
  }
}

describe(`zip fuzz (seed ${SEED})`, () => {
  const dir = tempDir('veil-fuzz-zip-');
  const tally = new Tally();
  let server: TestApi;
  beforeAll(async () => {
    server = await startTestApi({ runner: { concurrency: 0 }, limits: { rateLimitPerMinute: 1_000_000, maxExpandedBytes: 8 * 1024 * 1024 }, logLevel: 'silent' });
    const auth = `Bearer ${server.keys.committee}`;
    await request(server.api.app).put('/v1/policies/fz-zip').set('Authorization', auth).set('Content-Type', 'application/yaml').send('name: fz-zip\nversion: 1\ndicom: { profile: basic }\n');
    await request(server.api.app).post('/v1/policies/fz-zip/approve').set('Authorization', auth);
  });
  afterAll(async () => {
    await server.close();
    console.log(tally.summary(`zip seed=${SEED}`));
  });

  it(`${LIBRARY_CASES} zips through extractZipSafely: whole, or refused with nothing left in the destination`, async () => {
    const rng = new Prng(SEED);
    for (let n = 0; n < LIBRARY_CASES; n++) {
      const { bytes, limits, how } = nextZip(rng);
      const id = `zip seed=${SEED} case=${n} (${how})`;
      const input = join(dir, `in-${n}.zip`);
      writeFileSync(input, bytes);
      const dest = join(dir, `out-${n}`);
      let outcome: Outcome = { kind: 'ok' };
      let written: string[] = [];
      try {
        written = await extractZipSafely(input, dest, limits, '.dcm');
      } catch (error) {
        outcome = outcomeOfError(error);
      }
      tally.record('zip-library', id, outcome);
      const left = existsSync(dest) ? readdirSync(dest) : [];
      if (outcome.kind === 'ok') {
        const expected = written.map((_, i) => `${String(i + 1).padStart(6, '0')}.dcm`);
        if (left.sort().join() !== expected.join()) tally.leftover(id, `extracted ${left.length} files, returned ${written.length}`);
      } else if (left.length > 0) {
        tally.leftover(id, `${left.length} file(s) left in the destination after a refusal`);
      }
    }
    expect(problemsOf(tally, 'zip')).toEqual(NO_PROBLEMS);
  });

  it(`${API_CASES} zips through POST /v1/dicom/jobs: 202 or a documented 4xx, never 500, no job folder on a refusal`, async () => {
    const rng = new Prng(SEED + 3);
    const jobsDir = join(server.dir, 'jobs');
    for (let n = 0; n < API_CASES; n++) {
      const { bytes, how } = nextZip(rng);
      const id = `zip-api seed=${SEED} case=${n} (${how})`;
      const before = existsSync(jobsDir) ? readdirSync(jobsDir).length : 0;
      const res = await request(server.api.app).post('/v1/dicom/jobs').set('Authorization', `Bearer ${server.keys.researcher}`).field('policy', 'fz-zip').attach('files', bytes, 'upload.zip');
      const code = (res.body as { error?: { code?: string } }).error?.code;
      const outcome: Outcome = res.status >= 500 ? { kind: 'internal', what: `HTTP ${res.status} ${code ?? ''}` } : res.status === 202 ? { kind: 'ok' } : { kind: 'refused', code: code ?? `HTTP ${res.status} without a code` };
      tally.record('zip-api', id, outcome);
      const after = existsSync(jobsDir) ? readdirSync(jobsDir).length : 0;
      if (res.status !== 202 && after !== before) tally.leftover(id, 'a job folder was left by a refused upload');
    }
    expect(problemsOf(tally, 'zip-api')).toEqual(NO_PROBLEMS);
  });
});
