import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync, writevSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { DicomPolicy } from '../policy/sections/dicom.js';
import type { PixelsPolicy } from '../policy/sections/pixels.js';
import { isVeilError, type ErrorCode, type ErrorLocation } from '../errors.js';
import { readDicom } from './codec/read.js';
import { writeDicom, type WriteScratch } from './codec/write.js';
import { DicomDamagedError, NotDicomError, TAG_PIXEL_DATA, transferSyntaxOf, type DicomDataset, type DicomFile } from './codec/types.js';
import { encodeText, swapValue } from './codec/values.js';
import { collectIdentifyingValues, deidentifyDataset, type ActionCounts, type DeidentifyContext } from './deidentify.js';
import { ageString, dateOffsetDays } from './dates.js';
import { compileProfile, type CompiledProfile, type TagOverride } from './profile/compile.js';
import { lookupKeyword, parseTag, formatTag } from '../standard/dicomDictionary.js';
import { buildMeta, getText, markDeidentified, setElement } from './marking.js';
import { patientPseudonym } from './pseudonyms.js';
import { findResidualValues } from './residual.js';
import { remapUid } from './uids.js';
import { applyPixelResult, buildPixelInput, wantsPixelScan, type PixelOutcome } from './pixelStep.js';
import { neverExaminedResult } from './pixels/unexamined.js';
import type { DicomPixelReport, PixelCleaner } from './pixelCleaner.js';
import { cohortAttributes, applyCohortValues, type CohortWrite } from './cohort/writeBack.js';

/** Everything a worker needs to process files; plain data so it can cross threads. */
export interface FileSettings {
  dicom: DicomPolicy;
  pixels?: PixelsPolicy;
  secret: Uint8Array;
  /** Original PatientID → pre-assigned trial ID. */
  patientMap?: Record<string, string>;
  /** Return original patient IDs (only for writing the mapping file). */
  returnOriginalIds: boolean;
  /** Header keywords to extract for the cohort table. */
  cohortKeywords?: string[];
  /** Per pseudonymous patient: generalized values to write back, or suppression. */
  cohortWrites?: Record<string, CohortWrite>;
  /**
   * The policy can never examine pixels (`scan: never`, no faces) and the run uses its own
   * not-examined answer: each file with pixels gets it without a cleaner (building the cleaner's
   * input, tables and windows, cost more than the whole profile on a small file).
   */
  pixelsNeverExamined?: boolean;
  /** Outputs go to a folder only this run writes (its staging folder): no temp file and rename per file. */
  outputInPlace?: boolean;
}

export type FileStatus = 'ok' | 'rejected' | 'skipped';

export interface FileResult {
  input: string;
  output?: string;
  status: FileStatus;
  reason?: string;
  warnings: string[];
  counts: ActionCounts;
  patient?: { pseudonym: string; originalId?: string; attributes?: Record<string, string> };
  /** StudyInstanceUID as written (remapped), to find studies that mix patients. */
  study?: string;
  pixels?: { status: PixelOutcome['status']; reason?: string; report?: DicomPixelReport };
  /** How many identifying values of the input were searched for in the output. */
  residualValuesChecked: number;
  transferSyntax?: string;
  /** The VeilError that rejected the file, in parts (it crosses threads): a MODEL_INVALID fails the whole run. */
  error?: { code: ErrorCode; message: string; location: ErrorLocation };
}

export interface FileTask {
  /** Absolute input path. */
  inputPath: string;
  /** Path relative to the input directory (reports). */
  relativePath: string;
  /** Absolute output path; absent for a header-only pass (cohort extraction). */
  outputPath?: string;
}

const profileCache = new WeakMap<DicomPolicy, CompiledProfile>();

export function overridesOf(dicom: DicomPolicy): TagOverride[] {
  return dicom.overrides.map((o) => {
    const tag = parseTag(o.tag) ?? lookupKeyword(o.tag)?.tag;
    if (tag === undefined) throw new Error(`unknown override tag at dicom.overrides`);
    return { tag, keyword: lookupKeyword(o.tag)?.keyword ?? formatTag(tag), action: o.action, value: o.value };
  });
}

function profileOf(dicom: DicomPolicy): CompiledProfile {
  let compiled = profileCache.get(dicom);
  if (!compiled) {
    compiled = compileProfile(dicom.options, overridesOf(dicom));
    profileCache.set(dicom, compiled);
  }
  return compiled;
}

const safePrivateCache = new WeakMap<DicomPolicy, Map<string, Set<number>>>();

function safePrivateMap(dicom: DicomPolicy): Map<string, Set<number>> {
  const known = safePrivateCache.get(dicom);
  if (known) return known;
  const map = new Map<string, Set<number>>();
  safePrivateCache.set(dicom, map);
  if (!dicom.options.includes('retainSafePrivate')) return map;
  for (const entry of dicom.safePrivate) {
    map.set(`${entry.group.toUpperCase()}|${entry.creator}`, new Set(entry.elements.map((e) => parseInt(e, 16))));
  }
  return map;
}

const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

function isDicomDir(file: DicomFile): boolean {
  return getText(file.meta, 0x00020002) === MEDIA_STORAGE_DIRECTORY || file.dataset.some((e) => e.tag === 0x00041220);
}

/** The key that identifies a patient across files: PatientID, else name and birth date. */
export function patientKeyOf(dataset: DicomDataset): { key: string; id: string } {
  const id = getText(dataset, 0x00100020) ?? '';
  if (id) return { key: `id:${id}`, id };
  const name = getText(dataset, 0x00100010) ?? '';
  const birth = getText(dataset, 0x00100030) ?? '';
  return { key: `name:${name}|${birth}`, id: '' };
}

function emptyCounts(): ActionCounts {
  return { actions: {}, origins: {} };
}

/**
 * One not-examined answer per pixels policy, shared by every file of a run: the files of a
 * batch then carry the same report object, which crosses to the main thread once per message.
 */
const neverExaminedCache = new WeakMap<PixelsPolicy, ReturnType<typeof neverExaminedResult>>();

function neverExaminedOf(pixels: PixelsPolicy): ReturnType<typeof neverExaminedResult> {
  let result = neverExaminedCache.get(pixels);
  if (!result) {
    result = neverExaminedResult(pixels);
    neverExaminedCache.set(pixels, result);
  }
  return result;
}

/** Re-encodes binary values when the output byte order differs from the input's. */
function swapDataset(dataset: DicomDataset): DicomDataset {
  return dataset.map((e) => {
    if (e.items) return { ...e, items: e.items.map(swapDataset) };
    if (e.value && !e.verbatim) return { ...e, value: swapValue(e.value, e.vr) };
    return e;
  });
}

let reusable = Buffer.allocUnsafe(0);

/**
 * Reads a file into a buffer this thread reuses for the next file: a fresh 500 kB buffer per
 * file costs more in page faults than the whole header transform. Only for the synchronous
 * path (no pixel cleaner), where no two files are in flight in one thread.
 */
function readReusable(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    if (reusable.length === 0) reusable = Buffer.allocUnsafe(1 << 20);
    // read to the end (no fstat: its Stats object with four Dates cost more than one more read)
    let offset = 0;
    for (;;) {
      if (offset === reusable.length) {
        const larger = Buffer.allocUnsafe(reusable.length * 2);
        reusable.copy(larger, 0, 0, offset);
        reusable = larger;
      }
      const n = readSync(fd, reusable, offset, reusable.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return reusable.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * The output buffer this thread reuses for the next file, on the same path and for the same
 * reason as `readReusable`: each output is written (or rejected) before the next is encoded.
 */
const outputScratch: WriteScratch = { buffer: Buffer.allocUnsafe(0) };

/**
 * Temp names beside the target, as io/atomic.ts makes them (".veil-tmp-" prefix, which the
 * walk skips), from one random prefix per thread and a counter: a random draw per file cost a
 * system call each.
 */
const tempPrefix = `.veil-tmp-${randomBytes(6).toString('hex')}`;
let tempCounter = 0;

function tempPathBeside(target: string): string {
  return join(dirname(target), `${tempPrefix}-${(tempCounter++).toString(36)}-${basename(target)}`);
}

/**
 * Opens a new file, making its folder when it is missing (asked of the file system, not
 * remembered: a long-lived worker serves many runs, and a run's folder may be removed and
 * made again between them).
 */
function openCreating(path: string, flags: string): number {
  try {
    return openSync(path, flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dirname(path), { recursive: true });
    return openSync(path, flags);
  }
}

function writeAll(fd: number, chunks: readonly Uint8Array[]): void {
  // a header-only file is one chunk: plain writes (no array of views to build and check)
  if (chunks.length === 1) {
    const chunk = chunks[0];
    let offset = 0;
    while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
    return;
  }
  let pending = chunks.filter((c) => c.length > 0);
  while (pending.length > 0) {
    let written = writevSync(fd, pending as NodeJS.ArrayBufferView[]);
    const rest: Uint8Array[] = [];
    for (const chunk of pending) {
      if (written >= chunk.length) written -= chunk.length;
      else {
        rest.push(chunk.subarray(written));
        written = 0;
      }
    }
    pending = rest;
  }
}

/**
 * Writes one output file. Synchronous on purpose: each worker thread handles one file at a
 * time, and blocking calls avoid a thread-pool round trip per step (3× the files/s). In a
 * run's own staging folder (`inPlace`, renamed into place whole at the end) the file is
 * created under its name; elsewhere a temp file is renamed over it (readers see the old file
 * or the whole new one).
 */
function writeOutput(target: string, chunks: readonly Uint8Array[], inPlace: boolean): void {
  const path = inPlace ? target : tempPathBeside(target);
  const fd = openCreating(path, inPlace ? 'wx' : 'w');
  try {
    writeAll(fd, chunks);
    closeSync(fd);
    if (!inPlace) renameSync(path, target);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(path, { force: true });
    throw error;
  }
}

/** The result of a file whose processing threw (a bug, a crashed worker): rejected, not written. */
export function rejectedByError(task: FileTask, error: unknown, where: string): FileResult {
  return {
    input: task.relativePath,
    status: 'rejected',
    reason: isVeilError(error) ? `${error.code}: ${error.toLine()}; file not written` : `internal error ${where} (${error instanceof Error ? error.name : 'error'}); file not written`,
    warnings: [],
    counts: emptyCounts(),
    residualValuesChecked: 0,
    ...errorPartsOf(error),
  };
}

/** A VeilError's parts for a rejected file (messages never hold data values); nothing for other errors. */
function errorPartsOf(error: unknown): Pick<FileResult, 'error'> {
  return isVeilError(error) ? { error: { code: error.code, message: error.message, location: { ...error.location } } } : {};
}

/** Files one after the other (one worker message carries a batch); one file's failure never takes the others with it. */
export async function processBatch(tasks: readonly FileTask[], settings: FileSettings, cleaner?: PixelCleaner): Promise<FileResult[]> {
  const results: FileResult[] = [];
  for (const task of tasks) {
    try {
      results.push(await processFile(task, settings, cleaner));
    } catch (error) {
      results.push(rejectedByError(task, error, 'in the worker'));
    }
  }
  return results;
}

/** Reads, de-identifies, checks and writes one file. Never throws for a bad input file. */
export async function processFile(task: FileTask, settings: FileSettings, cleaner?: PixelCleaner): Promise<FileResult> {
  let bytes: Uint8Array;
  try {
    bytes = cleaner ? readFileSync(task.inputPath) : readReusable(task.inputPath);
  } catch (error) {
    if (error instanceof Error && 'code' in error) {
      return { input: task.relativePath, status: 'rejected', warnings: [], counts: emptyCounts(), residualValuesChecked: 0, reason: `cannot read the file (${String((error as NodeJS.ErrnoException).code)})` };
    }
    throw error;
  }
  let outcome: { result: FileResult; chunks?: Uint8Array[] };
  try {
    outcome = await deidentifyBytes(bytes, task, settings, cleaner, cleaner ? undefined : outputScratch);
  } catch (error) {
    // a bug or an unforeseen structure must not stop the run: the file is rejected, not written.
    // VeilError messages never hold data values, so they are shown; other errors only by name.
    const reason = isVeilError(error)
      ? `${error.code}: ${error.toLine()}; file not written`
      : `internal error while de-identifying (${error instanceof Error ? error.name : 'error'}); file not written`;
    return { input: task.relativePath, status: 'rejected', warnings: [], counts: emptyCounts(), residualValuesChecked: 0, reason, ...errorPartsOf(error) };
  }
  const { result, chunks } = outcome;
  if (chunks && task.outputPath) writeOutput(task.outputPath, chunks, settings.outputInPlace === true);
  return result;
}

/**
 * The whole per-file transform without file I/O: parse, profile, cohort write-back, pixel
 * cleaner, marking, encoding and the residual-PHI check. `chunks` is what to write (only
 * when the result is ok and the task has an output path); with `scratch` they are views of its
 * buffer, valid until the next call given it.
 */
export async function deidentifyBytes(
  bytes: Uint8Array,
  task: FileTask,
  settings: FileSettings,
  cleaner?: PixelCleaner,
  scratch?: WriteScratch,
): Promise<{ result: FileResult; chunks?: Uint8Array[] }> {
  const base: FileResult = { input: task.relativePath, status: 'rejected', warnings: [], counts: emptyCounts(), residualValuesChecked: 0 };
  const done = (result: FileResult) => ({ result });
  let file: DicomFile;
  try {
    file = readDicom(bytes);
  } catch (error) {
    if (error instanceof NotDicomError) return done({ ...base, status: 'skipped', reason: error.reason });
    if (error instanceof DicomDamagedError) return done({ ...base, reason: `damaged: ${error.reason}` });
    throw error;
  }
  base.warnings = file.warnings;
  if (isDicomDir(file)) {
    return done({ ...base, status: 'skipped', reason: 'DICOMDIR not copied: it lists original paths and byte offsets; build a new one from the output (e.g. dcmmkdir)' });
  }
  const dicom = settings.dicom;
  const patient = patientKeyOf(file.dataset);
  const pseudonym = (patient.id && settings.patientMap?.[patient.id]) || patientPseudonym(settings.secret, patient.key);
  const patientInfo: FileResult['patient'] = { pseudonym };
  if (settings.returnOriginalIds) patientInfo.originalId = patient.id || '(no PatientID)';
  if (settings.cohortKeywords) patientInfo.attributes = cohortAttributes(file.dataset, settings.cohortKeywords);
  if (!task.outputPath) return done({ ...base, status: 'ok', patient: patientInfo });

  const cohortWrite = settings.cohortWrites?.[pseudonym];
  if (cohortWrite?.suppressed) {
    return done({ ...base, status: 'skipped', reason: `patient suppressed by the cohort k-anonymity step (${cohortWrite.reason ?? 'no equivalence class of size k'})`, patient: patientInfo });
  }

  const modifiedDates = dicom.options.includes('retainLongitudinalModifiedDates');
  const ctx: DeidentifyContext = {
    profile: profileOf(dicom),
    secret: settings.secret,
    unlisted: dicom.unlistedElements,
    dateOffsetDays: modifiedDates ? dateOffsetDays(settings.secret, patient.key, dicom.dateShift.minDays, dicom.dateShift.maxDays) : undefined,
    patientPseudonym: pseudonym,
    safePrivate: safePrivateMap(dicom),
  };
  const identifying = collectIdentifyingValues(file.dataset, ctx);
  const identifyingList = [...identifying.keys()].sort((a, b) => b.length - a.length);
  const counts = emptyCounts();
  let dataset = deidentifyDataset(file.dataset, ctx, identifyingList, counts);
  if (cohortWrite) applyCohortValues(dataset, cohortWrite);
  recomputeAge(dataset);

  let pixelOutcome: PixelOutcome = { status: 'unchanged', transferSyntaxUid: file.transferSyntax.uid };
  let cleanerRan = false;
  if (settings.pixelsNeverExamined && wantsPixelScan(settings.pixels)) {
    // what the not-examined cleaner answers, for the same files (those with stored pixels)
    const pixel = file.dataset.find((e) => e.tag === TAG_PIXEL_DATA);
    if (pixel?.verbatim) {
      cleanerRan = true;
      pixelOutcome = applyPixelResult(dataset, neverExaminedOf(settings.pixels as PixelsPolicy), file.transferSyntax);
    }
  } else if (cleaner && wantsPixelScan(settings.pixels)) {
    const input = buildPixelInput(task.relativePath, file.dataset, file.transferSyntax, identifyingList);
    if (input) {
      cleanerRan = true;
      const result = await cleaner.clean(input, settings.pixels as PixelsPolicy);
      pixelOutcome = applyPixelResult(dataset, result, file.transferSyntax);
      if (pixelOutcome.status === 'rejected') {
        return done({ ...base, reason: `pixels: ${pixelOutcome.reason ?? 'rejected by the pixel cleaner'}`, counts, patient: patientInfo, pixels: { status: 'rejected', reason: pixelOutcome.reason, report: pixelOutcome.report } });
      }
    }
  }
  markDeidentified(dataset, { options: dicom.options, pixelsCleaned: pixelOutcome.status === 'replaced' });

  let transferSyntax = file.transferSyntax;
  if (pixelOutcome.transferSyntaxUid !== transferSyntax.uid) {
    const next = transferSyntaxOf(pixelOutcome.transferSyntaxUid);
    if (next.littleEndian !== transferSyntax.littleEndian) dataset = swapDataset(dataset);
    transferSyntax = next;
  }
  const meta = buildMeta(dataset, file.meta, transferSyntax.uid, (uid) => (dicom.options.includes('retainUIDs') ? uid : remapUid(settings.secret, uid)));
  const chunks = writeDicom({ meta, dataset, transferSyntax, warnings: [] }, scratch);
  const searched = residualValues(identifying);
  // a deflated output is searched in its inflated form: compressed bytes hide any value
  const plain = transferSyntax.deflated ? writeDicom({ meta, dataset, transferSyntax: { ...transferSyntax, deflated: false }, warnings: [] }) : chunks;
  // `header` skips pixel data that is the input's own bytes, copied unchanged
  const scanned = dicom.residualScan === 'header' && pixelOutcome.status !== 'replaced' ? plain.filter((c) => !isVerbatimPixelChunk(c, file.dataset)) : plain;
  const residual = findResidualValues(scanned, searched);
  const pixels = cleanerRan ? { status: pixelOutcome.status, report: pixelOutcome.report } : undefined;
  if (residual.length > 0) {
    return done({ ...base, reason: `residual PHI: values of ${residual.join(', ')} found in the output; not written`, counts, patient: patientInfo, pixels, residualValuesChecked: searched.size });
  }
  // written out, not `{ ...base, counts, … }`: overwriting a field the spread copied as constant
  // changed the object's map on every file (a runtime call) and made V8 throw away and recompile
  // the optimized code of the profile functions once per thread
  const result: FileResult = {
    input: base.input,
    status: 'ok',
    warnings: base.warnings,
    counts,
    residualValuesChecked: searched.size,
    output: task.outputPath,
    patient: patientInfo,
    pixels,
    transferSyntax: transferSyntax.uid,
    study: getText(dataset, 0x0020000d),
  };
  return { result, chunks };
}

function isVerbatimPixelChunk(chunk: Uint8Array, original: DicomDataset): boolean {
  return original.some((e) => e.verbatim === chunk);
}

/** Values of at least 4 characters: shorter ones occur by chance in pixel bytes. */
function residualValues(identifying: ReadonlyMap<string, string>): Map<string, string> {
  const searched = new Map<string, string>();
  for (const [value, keyword] of identifying) if (value.length >= 4) searched.set(value, keyword);
  return searched;
}

/** PatientAge, when kept, is recomputed from the (shifted) birth and study dates. */
function recomputeAge(dataset: DicomDataset): void {
  const age = getText(dataset, 0x00101010);
  const birth = getText(dataset, 0x00100030);
  const at = getText(dataset, 0x00080020) ?? getText(dataset, 0x00080023);
  if (!age || !birth || !at) return;
  const recomputed = ageString(birth, at);
  if (recomputed) setElement(dataset, { tag: 0x00101010, vr: 'AS', value: encodeText(recomputed) });
}
