import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deidentifyDicomDirectory, openDicomWorkers, type DicomRunReport, type DicomWorkers } from '../../src/dicom/index.js';
import { readDicom } from '../../src/dicom/codec/read.js';
import { pixelValueOf } from '../../src/dicom/pixelStep.js';
import { containsWord } from '../../src/dicom/residual.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { hasTool, repoRoot, SECRET, sharedDicom } from './helpers.js';

/**
 * The "Must show" on a temp copy of ../shared/data/dicom with the Basic Profile and
 * Modified Dates, pixels never scanned. Independent checks use dcmtk (dcmdump) and
 * dicom3tools (dciodvfy), installed by .ci/run.
 */
const POLICY = `name: must-show
version: 1
dicom: { profile: basic, options: [retainLongitudinalModifiedDates] }
pixels: { burnedInText: { scan: never } }
`;

const manifest = readFileSync(path.join(sharedDicom, 'MANIFEST.csv'), 'utf8')
  .split('\n')
  .slice(1)
  .filter((l) => l.trim() !== '')
  .map((line) => ({ file: line.split(',')[0], malformed: line.includes('MALFORMED') }));

let work: string;
let input: string;
let first: DicomRunReport;
let second: DicomRunReport;

type DumpElement = { tag: string; vr: string; value: string };
const dumps = new Map<string, { status: number | null; text: string }>();
const parsedDumps = new Map<string, DumpElement[]>();
/** The elements of a file's dump, parsed once: several tests read each dump (a cine's is 32 MB of text). */
function elementsOf(file: string): DumpElement[] {
  let elements = parsedDumps.get(file);
  if (!elements) {
    elements = dumpElements(dump(file).text);
    parsedDumps.set(file, elements);
  }
  return elements;
}

function dump(file: string): { status: number | null; text: string } {
  let cached = dumps.get(file);
  if (!cached) {
    const result = spawnSync('dcmdump', ['-q', '+L', file], { encoding: 'latin1', maxBuffer: 64 << 20 });
    cached = { status: result.status, text: result.stdout };
    dumps.set(file, cached);
  }
  return cached;
}

/** (tag, VR, value) of every element dcmdump prints, nested ones included. */
function dumpElements(text: string): DumpElement[] {
  const out: { tag: string; vr: string; value: string }[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*\(([0-9a-f]{4},[0-9a-f]{4})\) ([A-Z]{2}) (?:\[(.*)\]|=?(\S*))/.exec(line);
    if (match) out.push({ tag: match[1], vr: match[2], value: match[3] ?? match[4] ?? '' });
  }
  return out;
}

/** containsWord's word bytes: a letter, digit, "_" or any byte from 0x80. */
function isWordByte(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x5f || byte >= 0x80);
}

/**
 * The values that occur in `haystack` as a whole word, in their order (containsWord's test for
 * each value, answered in one pass over the bytes instead of one per value: the cross-file
 * checks look for hundreds of values in 23 MB of outputs).
 */
function wordsIn(haystack: Buffer, values: Iterable<string>): string[] {
  const needles = [...new Set(values)].map((value) => ({ value, bytes: Buffer.from(value, 'latin1') }));
  const found = new Set<string>();
  const byPrefix = new Map<number, typeof needles>();
  for (const needle of needles) {
    if (needle.bytes.length < 2) {
      if (containsWord(haystack, needle.value)) found.add(needle.value);
      continue;
    }
    const prefix = (needle.bytes[0] << 8) | needle.bytes[1];
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), needle]);
  }
  const marked = new Uint8Array(65536);
  for (const prefix of byPrefix.keys()) marked[prefix] = 1;
  for (let i = 0; i + 1 < haystack.length; i++) {
    if (!marked[(haystack[i] << 8) | haystack[i + 1]]) continue;
    for (const { value, bytes } of byPrefix.get((haystack[i] << 8) | haystack[i + 1]) ?? []) {
      if (found.has(value) || i + bytes.length > haystack.length) continue;
      let same = true;
      for (let k = 2; k < bytes.length && same; k++) same = haystack[i + k] === bytes[k];
      if (!same) continue;
      const before = i > 0 ? haystack[i - 1] : undefined;
      const after = haystack[i + bytes.length];
      if ((!isWordByte(bytes[0]) || !isWordByte(before)) && (!isWordByte(bytes[bytes.length - 1]) || !isWordByte(after))) found.add(value);
    }
  }
  return needles.map((n) => n.value).filter((value) => found.has(value));
}

const IDENTIFYING_TAGS = new Set([
  '0010,0010', '0010,0020', '0010,0030', '0010,1000', '0010,1001', '0010,1040', '0010,2154', '0008,0050', '0008,0080', '0008,0081', '0008,0090',
  '0008,1010', '0008,1048', '0008,1050', '0008,1060', '0008,1070', '0020,0010', '0008,0020', '0008,0021', '0008,0022', '0008,0023', '0018,1000',
]);

/** Identifying values of an input as dcmdump sees them: listed tags, every PN and DA, name components. */
function identifyingValues(file: string): Set<string> {
  const values = new Set<string>();
  for (const e of elementsOf(file)) {
    if (!(IDENTIFYING_TAGS.has(e.tag) || e.vr === 'PN' || e.vr === 'DA')) continue;
    for (const v of e.value.split('\\')) {
      const pieces = e.vr === 'PN' ? [v, ...v.split(/[\^=]/)] : [v];
      for (const p of pieces.map((x) => x.trim())) if (p.length >= 4 && p !== '(no value available)') values.add(p);
    }
  }
  return values;
}

const runDicom = (output: string, workers: DicomWorkers) =>
  deidentifyDicomDirectory({ policy: unwrap(parsePolicy(POLICY, { file: 'must-show.yaml', baseDir: repoRoot })), input, output, secret: SECRET, workers });

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'veil-dicom-'));
  input = path.join(work, 'in');
  cpSync(sharedDicom, input, { recursive: true });
  // two worker threads for both runs, as a server keeps them (each thread started from the
  // TypeScript sources loads tsx and the DICOM modules: started once, not once per run)
  const workers = await openDicomWorkers({ jobs: 2 });
  try {
    first = await runDicom(path.join(work, 'out'), workers);
    second = await runDicom(path.join(work, 'out2'), workers);
  } finally {
    await workers.close();
  }
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('veil dicom deidentify on ../shared/data/dicom (Basic Profile + Modified Dates)', () => {
  const okFiles = () => first.files.filter((f) => f.status === 'ok');

  it('de-identifies every readable file and reports each damaged one', () => {
    for (const entry of manifest) {
      const record = first.files.find((f) => f.input === entry.file);
      expect(record, entry.file).toBeDefined();
      if (!entry.malformed && entry.file !== 'no_meta.dcm') expect(record?.status, `${entry.file}: ${record?.reason}`).toBe('ok');
    }
    const truncated = first.files.find((f) => f.input === 'MR_truncated.dcm');
    expect(truncated?.status).toBe('rejected');
    expect(truncated?.reason).toMatch(/truncated/);
    for (const f of first.files.filter((x) => x.status !== 'ok')) expect(f.reason).toBeTruthy();
    expect(first.residualPhi.filesFailed).toBe(0);
    expect(okFiles().length).toBeGreaterThanOrEqual(47);
  });

  it('writes outputs that dcmdump parses', () => {
    expect(hasTool('dcmdump'), 'dcmtk is needed (see .ci/run)').toBe(true);
    for (const f of okFiles()) expect(dump(path.join(work, 'out', f.output as string)).status, f.input).toBe(0);
  });

  it('leaves no identifying value of an input in its output', () => {
    let checked = 0;
    const leaks: string[] = [];
    for (const f of okFiles()) {
      const bytes = readFileSync(path.join(work, 'out', f.output as string));
      for (const v of identifyingValues(path.join(input, f.input))) {
        checked++;
        if (containsWord(bytes, v)) leaks.push(`${f.input}: value of length ${v.length}${process.env.VEIL_DEBUG_LEAKS ? v : ''}`);
      }
    }
    expect(checked).toBeGreaterThan(200);
    expect(leaks).toEqual([]);
  });

  it('leaves no identifying value of any input in any other output', () => {
    // values that another input holds in an element the profile keeps (a manufacturer named
    // like an institution, "TEST", "PATIENT"), placeholders ("----", "11111111") and short
    // digit strings (a 5-digit serial number occurs by chance in 8-bit cine pixels) are not evidence
    const kept = new Set<string>();
    const values = new Set<string>();
    for (const f of okFiles()) {
      const file = path.join(input, f.input);
      for (const v of identifyingValues(file)) values.add(v);
      for (const e of elementsOf(file)) if (!IDENTIFYING_TAGS.has(e.tag) && e.vr !== 'PN' && e.vr !== 'DA') kept.add(e.value.trim());
    }
    const evidence = [...values].filter((v) => !kept.has(v) && new Set(v.replace(/[^A-Za-z0-9]/g, '')).size >= 3 && !/^\d{1,7}$/.test(v) && !/^(TEST|PATIENT|ANONYMOUS|ANONYMIZED)$/i.test(v));
    expect(evidence.length).toBeGreaterThan(50);
    const leaks: string[] = [];
    for (const f of okFiles()) {
      const bytes = readFileSync(path.join(work, 'out', f.output as string));
      for (const v of wordsIn(bytes, evidence)) leaks.push(`${f.input}: value of length ${v.length}${process.env.VEIL_DEBUG_LEAKS ? v : ''}`);
    }
    expect(leaks).toEqual([]);
  });

  it('leaves no private element and no overlay or curve group', () => {
    for (const f of okFiles()) {
      for (const e of elementsOf(path.join(work, 'out', f.output as string))) {
        const group = parseInt(e.tag.slice(0, 4), 16);
        expect(group % 2, `${f.input} (${e.tag})`).toBe(0);
        expect((group & 0xff00) === 0x5000 || (group & 0xff00) === 0x6000, `${f.input} (${e.tag})`).toBe(false);
      }
    }
  });

  it('copies pixel data byte for byte', () => {
    let compared = 0;
    for (const f of okFiles()) {
      const inputBytes = readFileSync(path.join(input, f.input));
      const outputBytes = readFileSync(path.join(work, 'out', f.output as string));
      const inFile = readDicom(inputBytes);
      const pixels = inFile.dataset.find((e) => e.tag === 0x7fe00010 || e.tag === 0x7fe00008);
      if (!pixels || inFile.transferSyntax.deflated) continue;
      const original = pixelValueOf(pixels, inFile.transferSyntax);
      const outFile = readDicom(outputBytes);
      const written = outFile.dataset.find((e) => e.tag === pixels.tag);
      expect(written, f.input).toBeDefined();
      expect(Buffer.compare(pixelValueOf(written!, outFile.transferSyntax), original), f.input).toBe(0);
      expect(outputBytes.indexOf(original), f.input).toBeGreaterThan(0);
      compared++;
    }
    expect(compared).toBeGreaterThan(35);
  });

  it('remaps UIDs: 2.25 form, none left, injective, consistent across files, identical on a second run', () => {
    const inputUids = new Set<string>();
    const pairs = new Map<string, string>();
    for (const f of okFiles()) {
      const inEls = elementsOf(path.join(input, f.input)).filter((e) => e.vr === 'UI' && !e.value.startsWith('1.2.840.10008') && /^[0-9.]+$/.test(e.value));
      for (const e of inEls) inputUids.add(e.value);
      const outEls = elementsOf(path.join(work, 'out', f.output as string)).filter((e) => e.vr === 'UI' && !e.value.startsWith('1.2.840.10008') && /^[0-9.]+$/.test(e.value));
      for (const e of outEls) {
        if (e.tag.startsWith('0002,0012')) continue;
        expect(e.value, `${f.input} ${e.tag}`).toMatch(/^2\.25\.\d{1,39}$/);
      }
      const sop = (els: typeof inEls) => els.find((e) => e.tag === '0008,0018')?.value;
      const study = (els: typeof inEls) => els.find((e) => e.tag === '0020,000d')?.value;
      for (const get of [sop, study]) {
        const a = get(inEls);
        const b = get(outEls);
        if (!a || !b) continue;
        const previous = pairs.get(a);
        if (previous) expect(previous, 'same input UID, same output UID').toBe(b);
        pairs.set(a, b);
      }
      const bytes = readFileSync(path.join(work, 'out', f.output as string));
      expect(wordsIn(bytes, [...inputUids].filter((uid) => uid.length >= 10)), f.input).toEqual([]);
    }
    expect(new Set(pairs.values()).size).toBe(pairs.size);
    for (const f of okFiles()) {
      const a = readFileSync(path.join(work, 'out', f.output as string));
      const b = readFileSync(path.join(work, 'out2', f.output as string));
      expect(Buffer.compare(a, b), f.input).toBe(0);
    }
    expect(second.totals).toEqual(first.totals);
  });

  it('adds no dciodvfy error the input did not have', () => {
    expect(hasTool('dciodvfy'), 'dicom3tools is needed (see .ci/run)').toBe(true);
    const errors = (file: string) =>
      new Set(
        spawnSync('dciodvfy', [file], { encoding: 'latin1', maxBuffer: 64 << 20 })
          .stderr.split('\n')
          .filter((l) => l.startsWith('Error'))
          .map((l) => l.replace(/[0-9]+(\.[0-9]+){2,}/g, '<uid>').replace(/"[^"]*"/g, '<v>').replace(/\s+$/, '')),
      );
    for (const f of okFiles()) {
      const before = errors(path.join(input, f.input));
      const added = [...errors(path.join(work, 'out', f.output as string))].filter((l) => !before.has(l));
      expect(added, f.input).toEqual([]);
    }
  });

  it('marks outputs as de-identified with the CID 7050 codes', () => {
    const text = dump(path.join(work, 'out', 'CT_small.dcm')).text;
    expect(text).toMatch(/\(0012,0062\) CS \[YES\]/);
    expect(text).toMatch(/\(0008,0100\) SH \[113100\]/);
    expect(text).toMatch(/\(0008,0100\) SH \[113107\]/);
    expect(text).toMatch(/\(0028,0303\) CS \[MODIFIED\]/);
  });

  it('lists outputs only for files it wrote, nothing half-written', () => {
    const written = readdirSync(path.join(work, 'out'), { recursive: true }).map(String);
    expect(written.some((n) => n.includes('.veil-tmp-'))).toBe(false);
    expect(written.sort()).toEqual(okFiles().map((f) => f.output as string).sort());
  });
});
