/**
 * Mutated DICOM files (truncated, lengths flipped to huge or odd values, bad VRs, deep
 * sequences, random bytes) through the whole per-file transform (deidentifyBytes: parse,
 * profile, encode, residual check) and a few through deidentifyDicomDirectory. A bad file must
 * be skipped or rejected with a reason, never an exception that is not a VeilError; the output
 * folder holds only complete, readable files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readDicom } from '../../src/dicom/codec/read.js';
import { deidentifyBytes, type FileSettings } from '../../src/dicom/file.js';
import { deidentifyDicomDirectory } from '../../src/dicom/run.js';
import { dicomSchema } from '../../src/policy/sections/dicom.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { runCli, sharedData, tempDir } from '../helpers.js';
import { fuzzSeed, mutate, NO_PROBLEMS, outcomeOfError, Prng, problemsOf, Tally, type Outcome } from './fuzz.js';

const SEED = fuzzSeed(1305);
const CASES = 700;
const SECRET = Buffer.from('fuzz-secret-for-veil-dicom-0123456789');

const SOURCES = ['CT_small.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm', 'image_dfl.dcm', 'rtplan.dcm', 'test-SR.dcm', 'UN_sequence.dcm', 'priv_SQ.dcm', 'SC_rgb_rle_2frame.dcm', 'no_meta.dcm', 'badVR.dcm', 'presidio_0_ORIGINAL_no_pixels.dcm'].map((name) => ({
  name,
  bytes: readFileSync(join(sharedData, 'dicom', name)),
}));

const VRS = ['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'OV', 'SV', 'UV'];

/** Offsets where a known VR is written (explicit VR files), i.e. element headers. */
function vrOffsets(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let i = 4; i + 1 < bytes.length && out.length < 400; i++) {
    if (bytes[i] >= 0x41 && bytes[i] <= 0x5a && bytes[i + 1] >= 0x41 && bytes[i + 1] <= 0x5a && VRS.includes(bytes.toString('latin1', i, i + 2))) out.push(i);
  }
  return out;
}

/** A real deflated file's meta header, then a deflate stream of `mib` MiB of zeros (~1 KiB per MiB). */
function deflateBomb(mib: number): Buffer {
  const real = readFileSync(join(sharedData, 'dicom', 'image_dfl.dcm'));
  const bodyStart = 132 + 12 + real.readUInt32LE(140);
  const oneMib = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([real.subarray(0, bodyStart), ...Array<Buffer>(mib).fill(oneMib), Buffer.from([0x03, 0x00])]);
}

/** An undefined-length private sequence nested `depth` items deep, explicit VR little endian. */
function nestedSequence(depth: number): Buffer {
  const open = Buffer.from([0x09, 0x00, 0x10, 0x10, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]);
  const close = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  return Buffer.concat([...Array(depth).fill(open), ...Array(depth).fill(close)] as Buffer[]);
}

function nextDicom(rng: Prng): { bytes: Buffer; how: string } {
  const source = rng.pick(SOURCES);
  const original = source.bytes;
  const label = (how: string) => `${source.name}: ${how}`;
  switch (rng.int(8)) {
    case 0: {
      const cut = rng.int(original.length);
      return { bytes: original.subarray(0, cut), how: label(`truncated at ${cut}`) };
    }
    case 1:
    case 2: {
      // a length field of an element: 2 bytes after the VR (short form) or 4 after its padding (long form)
      const offsets = vrOffsets(original);
      const copy = Buffer.from(original);
      if (offsets.length === 0) return { bytes: copy, how: label('no VR found (unchanged)') };
      const at = rng.pick(offsets);
      const value = rng.pick([0xffffffff, 0x7fffffff, 0xfffffffe, 0x00010001, 1, 3, 0]);
      if (['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV', 'SV', 'UV'].includes(copy.toString('latin1', at, at + 2)) && at + 8 <= copy.length) copy.writeUInt32LE(value, at + 4);
      else if (at + 4 <= copy.length) copy.writeUInt16LE(value & 0xffff, at + 2);
      return { bytes: copy, how: label(`length at ${at} set to 0x${value.toString(16)}`) };
    }
    case 3: {
      const offsets = vrOffsets(original);
      const copy = Buffer.from(original);
      const changes = 1 + rng.int(4);
      for (let i = 0; i < changes && offsets.length > 0; i++) {
        const at = rng.pick(offsets);
        copy.write(rng.pick(['ZZ', '\0\0', 'sq', ...VRS]), at, 'latin1');
      }
      return { bytes: copy, how: label(`${changes} VR(s) replaced`) };
    }
    case 4: {
      const depth = 10 + rng.int(rng.chance(0.2) ? 50_000 : 500);
      return { bytes: Buffer.concat([original, nestedSequence(depth)]), how: label(`sequence nested ${depth} deep appended`) };
    }
    case 5: {
      const copy = Buffer.from(original);
      const at = 128 + rng.int(Math.max(1, copy.length - 132));
      const value = rng.pick([0xffffffff, 0x80000000, 0x0000fffe]);
      if (at + 4 <= copy.length) copy.writeUInt32LE(value, at);
      return { bytes: copy, how: label(`4 bytes at ${at} set to 0x${value.toString(16)}`) };
    }
    default: {
      const { bytes, how } = mutate(rng, original);
      return { bytes, how: label(how) };
    }
  }
}

describe(`DICOM fuzz (seed ${SEED})`, () => {
  const dir = tempDir('veil-fuzz-dicom-');
  const tally = new Tally();
  const statuses = new Map<string, number>();
  afterAll(() => console.log(`${tally.summary(`dicom seed=${SEED}`)}; files ${[...statuses].map(([status, count]) => `${status} ${count}`).join(', ')}`));

  it(`${CASES} mutated DICOM files through deidentifyBytes: ok, skipped or rejected with a reason, never a throw`, async () => {
    const rng = new Prng(SEED);
    const settings: FileSettings = { dicom: dicomSchema.parse({}), secret: SECRET, returnOriginalIds: false };
    for (let n = 0; n < CASES; n++) {
      const { bytes, how } = nextDicom(rng);
      const id = `dicom seed=${SEED} case=${n} (${how})`;
      let outcome: Outcome = { kind: 'ok' };
      try {
        const { result, chunks } = await deidentifyBytes(new Uint8Array(bytes), { inputPath: '', relativePath: 'fuzz.dcm', outputPath: 'fuzz-out.dcm' }, settings);
        statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
        if (result.status !== 'ok' && !result.reason) outcome = { kind: 'internal', what: `${result.status} without a reason` };
        if (result.status === 'ok') {
          // what would be written must read back as DICOM
          if (!chunks) outcome = { kind: 'internal', what: 'ok without output bytes' };
          else {
            try {
              readDicom(new Uint8Array(Buffer.concat(chunks)));
            } catch (error) {
              outcome = { kind: 'internal', what: `the output does not read back: ${error instanceof Error ? error.message : String(error)}` };
            }
          }
        }
      } catch (error) {
        outcome = outcomeOfError(error);
      }
      tally.record('dicom-bytes', id, outcome);
    }
    // the mutations must reach every branch, or the suite tests little
    expect([...statuses.keys()].sort()).toEqual(['ok', 'rejected', 'skipped']);
    expect(problemsOf(tally, 'dicom')).toEqual(NO_PROBLEMS);
  });

  it('deidentifyDicomDirectory over folders of mutated files: only complete files in the output, no temp files', async () => {
    const rng = new Prng(SEED + 5);
    const basic = 'name: fz\nversion: 1\ndicom: { profile: basic }\n';
    // cohort k-anonymity over header values that the mutations may have made odd
    const cohort = [
      'name: fz-cohort',
      'version: 1',
      'dicom:',
      '  profile: basic',
      '  options: [retainLongitudinalModifiedDates, retainPatientCharacteristics]',
      '  cohort: { quasiIdentifiers: [PatientAge, PatientSex, PatientWeight], k: 2, suppressionLimit: 0.5 }',
      '',
    ].join('\n');
    for (let run = 0; run < 3; run++) {
      const policy = unwrap(parsePolicy(run === 2 ? cohort : basic, { file: join(dir, 'p.yaml'), baseDir: dir }));
      const input = join(dir, `in-${run}`);
      const output = join(dir, `out-${run}`);
      mkdirSync(input);
      const hows: string[] = [];
      for (let f = 0; f < 25; f++) {
        const { bytes, how } = nextDicom(rng);
        hows.push(how);
        writeFileSync(join(input, `${String(f).padStart(3, '0')}.dcm`), bytes);
      }
      if (run === 0) {
        // a deflate bomb among them: 300 MiB of zeros in ~300 KiB
        hows.push('deflate bomb');
        writeFileSync(join(input, '025.dcm'), deflateBomb(300));
      }
      const id = `dicom-dir seed=${SEED} run=${run}`;
      let outcome: Outcome = { kind: 'ok' };
      try {
        const reportJson = join(dir, `report-${run}.json`);
        const report = await deidentifyDicomDirectory({ policy, input, output, reportJson, secret: SECRET, jobs: 1 });
        const stored = JSON.parse(readFileSync(reportJson, 'utf8')) as { files: unknown[] };
        if (stored.files.length !== report.files.length) tally.leftover(id, 'the report file does not list every file');
        for (const file of report.files) {
          if (file.reason?.startsWith('internal error')) tally.internal.push(`${id} file ${file.input} (${hows[Number(file.input.slice(0, 3))]}): ${file.reason}`);
        }
      } catch (error) {
        outcome = outcomeOfError(error);
      }
      tally.record('dicom-dir', id, outcome);
      const written = existsSync(output) ? readdirSync(output, { recursive: true }).map(String) : [];
      for (const name of written) {
        if (run === 2 && name === 'cohort.csv') {
          // the cohort table (docs/dicom.md): complete when it ends with a line end
          if (!readFileSync(join(output, name), 'utf8').endsWith('\n')) tally.leftover(id, 'cohort.csv is incomplete');
          continue;
        }
        if (!name.endsWith('.dcm')) {
          tally.leftover(id, `unexpected file ${name} in the output`);
          continue;
        }
        try {
          readDicom(new Uint8Array(readFileSync(join(output, name))));
        } catch {
          tally.leftover(id, `${name} in the output does not read back`);
        }
      }
    }
    expect(problemsOf(tally, 'dicom-dir')).toEqual(NO_PROBLEMS);
  });

  it('veil dicom deidentify over a folder of mutated files and a deflate bomb: exit 0 or 2, never 1; only complete files out', () => {
    const rng = new Prng(SEED + 9);
    const input = join(dir, 'cli-in');
    const output = join(dir, 'cli-out');
    mkdirSync(input);
    for (let f = 0; f < 12; f++) writeFileSync(join(input, `${f}.dcm`), nextDicom(rng).bytes);
    writeFileSync(join(input, 'bomb.dcm'), deflateBomb(300));
    const policyFile = join(dir, 'cli-policy.yaml');
    writeFileSync(policyFile, 'name: fz\nversion: 1\ndicom: { profile: basic }\n');
    const result = runCli(['dicom', 'deidentify', '--policy', policyFile, '--in', input, '--out', output, '--report', join(dir, 'cli-report.json'), '--jobs', '1'], { VEIL_SECRET: SECRET.toString() });
    const id = `dicom-cli seed=${SEED} case=0`;
    if (result.status !== 0 && result.status !== 2) tally.internal.push(`${id}: exit ${result.status}: ${result.stderr.trim().split('\n')[0]}`);
    else tally.cases.set('dicom-cli', 1);
    expect(result.status, result.stderr).not.toBe(1);
    expect([0, 2]).toContain(result.status);
    for (const name of existsSync(output) ? readdirSync(output, { recursive: true }).map(String) : []) {
      if (name.endsWith('.dcm')) expect(() => readDicom(new Uint8Array(readFileSync(join(output, name)))), name).not.toThrow();
    }
  });
});
