import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { isVeilError, VeilError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { Policy } from '../../policy/load.js';
import { readDicom } from '../codec/read.js';
import { writeDicom } from '../codec/write.js';
import { DicomDamagedError, NotDicomError, TS_EXPLICIT_LE, transferSyntaxOf } from '../codec/types.js';
import { buildMeta, getText } from '../marking.js';
import { readMetaGroup } from '../codec/metaGroup.js';
import type { PixelCleanerFactory } from '../pixelStep.js';
import type { DicomRunReport } from '../../report/dicomReport.js';
import { openDicomWorkers } from '../pool.js';
import { deidentifyDicomDirectory, pixelCleanerFor, pixelsMayBeExamined } from '../run.js';
import type { Destination, OutgoingInstance, ReceivedInstance, StoreOutcome } from './dimse.js';
import { BufferPool } from './bufferPool.js';
import { listDir, segmentFolder, SentLog, Spool, studyOfSegment, writeDurable } from './spool.js';

export interface ListenOptions {
  policy: Policy;
  secret: Buffer;
  host: string;
  port: number;
  aeTitle: string;
  /** Where de-identified instances go: a C-STORE SCP, or a folder (or both). */
  forward?: Destination;
  out?: string;
  /**
   * Or: hand each de-identified batch to the caller, who keeps it (`veil serve` makes it a
   * job). Resolves with a label for the log and audit (an id, never a value) once the batch is
   * kept for good; called again for the same batch id after a crash, so it must be idempotent.
   */
  keep?: (batch: KeptBatch) => Promise<string>;
  spool: string;
  quarantine?: string;
  /** Calling AE titles let in by the operator (--allow-ae); combined with the policy's list by allowedCallers(). */
  allowAe?: readonly string[];
  /** Seconds without a new instance after which a study is de-identified and sent on. */
  studyIdleSeconds: number;
  /**
   * A study is released in batches while it still arrives: a batch once this many of its
   * instances are durable, or `batchWaitSeconds` after the first of them, whichever comes first
   * (and at the latest once the study is idle). Each batch is de-identified and forwarded as the
   * rest of the study comes: keyed UIDs, pseudonyms and date shifts make instances independent.
   * 0: a study is released whole, once idle (the default when batches are kept as jobs, so that
   * a job holds a study).
   */
  batchInstances?: number;
  batchWaitSeconds?: number;
  /**
   * Seconds before a failed de-identification or delivery is tried again (default 5, at least
   * 0.1): an operator whose archive restarts quickly may want less, one on a flaky link more.
   */
  retrySeconds?: number;
  /** Run report (JSON), rewritten every few seconds and on close. */
  reportJson?: string;
  jobs?: number;
  pixelCleaner?: PixelCleanerFactory;
  /** One line per event, never a data value (AE titles and counts only). */
  log?: (line: string) => void;
  /** Counted events for an audit log (`veil serve --dicom-port`): counts and reason codes, never a value. */
  onEvent?: (event: ListenEvent) => void;
}

/** A de-identified batch handed to `keep`: its files, its run report, its counts. */
export interface KeptBatch {
  /** The batch's id in the spool (a timestamp and a keyed digest: no UID). */
  id: string;
  /** Folder of the de-identified files (may be empty when every instance was quarantined). */
  files: string;
  /** The run report of deidentifyDicomDirectory, JSON and HTML (the HTML may be missing). */
  reportJson: string;
  reportHtml: string;
  received: number;
  deidentified: number;
  quarantined: number;
}

/** Why an instance was quarantined, as a code an audit log can hold. */
export type QuarantineCode = 'DAMAGED_DATASET' | 'SOP_INSTANCE_MISMATCH' | 'DEIDENTIFICATION_FAILED';

export type ListenEvent =
  /** A released batch of a study was delivered: its instances received, forwarded, written, quarantined. */
  | { kind: 'study-delivered'; received: number; forwarded: number; written: number; quarantined: number; kept?: { instances: number; label: string } }
  | { kind: 'quarantined'; code: QuarantineCode };

export interface ListenTotals {
  associations: number;
  associationsRefused: number;
  /** Instances acknowledged with success (durably in the spool). */
  received: number;
  /** Instances answered with a failure status (and quarantined when they had bytes). */
  refused: number;
  /** Instances found in the spool at start (received by an earlier run, not yet delivered). */
  recovered: number;
  studiesReleased: number;
  forwarded: number;
  written: number;
  /** De-identified instances handed to `keep` (under veil serve: kept as jobs). */
  kept: number;
  /** Instances moved to the quarantine folder (refused at receipt or failed de-identification). */
  quarantined: number;
  deliveryRetries: number;
}

export interface ListenReport {
  kind: 'veil-dicom-listen';
  policy: { name: string; version: number | string; sha256: string };
  aeTitle: string;
  port: number;
  startedAt: string;
  updatedAt: string;
  running: boolean;
  totals: ListenTotals;
  /** Why each quarantined instance was (file name in the quarantine folder, reason without values). */
  quarantine: { file: string; reason: string }[];
}

export interface Listener {
  report(): ListenReport;
  /** Waits until every released study was delivered and nothing is waiting (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const QUARANTINE_LISTED = 1000;
export const DEFAULT_RETRY_SECONDS = 5;
/** Batches forwarded at once, each on its own association to the destination (one association is latency-bound). */
const PARALLEL_DELIVERIES = 4;
/** Batches de-identified at once on the listener's pool: the next one fills the workers while one finishes. */
const PARALLEL_DEIDENTIFICATIONS = 2;
export const DEFAULT_BATCH_INSTANCES = 50;
export const DEFAULT_BATCH_WAIT_SECONDS = 0.5;

/**
 * `veil dicom listen`: a C-STORE SCP that spools every instance durably before acknowledging
 * it, releases each study in batches while it arrives (or whole, once idle), de-identifies each
 * batch with the folder pipeline (deidentifyDicomDirectory on the batch's spool folder, so an
 * instance comes out as it would from a folder), and forwards the result by C-STORE or writes it
 * to a folder. The spool
 * survives a crash: on start, released batches are re-made and the undelivered files sent.
 */
export async function startListener(options: ListenOptions): Promise<Listener> {
  const dicom = options.policy.dicom;
  if (!dicom) throw new VeilError('POLICY_INVALID', 'the policy has no dicom section', { file: options.policy.source.file, field: 'dicom' });
  if (dicom.cohort) throw new VeilError('USAGE', 'a cohort step needs the whole cohort at once; use veil dicom deidentify on a folder', { file: options.policy.source.file, field: 'dicom.cohort' });
  if (!options.forward && !options.out && !options.keep) throw new VeilError('USAGE', 'give --forward AE@host:port or --out DIR', { field: '--forward' });
  // The models' cleaner once, at the start: a missing model refuses the start (not a quarantine
  // reason for every instance with pixels), and no batch checks the model files again.
  const pixelCleaner = options.pixelCleaner ?? (pixelsMayBeExamined(options.policy.pixels) ? await pixelCleanerFor(options.policy.pixels) : undefined);
  const log = options.log ?? (() => undefined);
  const callers = allowedCallers(dicom.network?.allowCallingAeTitles, options.allowAe);
  // the DIMSE side (SCP and SCU) only once a listener starts: `veil dicom pull` and a refused option never load it
  const { sendInstances, startScp, STATUS } = await import('./dimse.js');
  const spool = new Spool(resolve(options.spool), new Uint8Array(options.secret));
  const quarantineDir = resolve(options.quarantine ?? join(options.spool, 'quarantine'));
  mkdirSync(quarantineDir, { recursive: true });
  const idleMs = Math.max(0, options.studyIdleSeconds * 1000);
  const workers = await openDicomWorkers({ jobs: options.jobs ?? availableParallelism() });

  const report: ListenReport = {
    kind: 'veil-dicom-listen',
    policy: { name: options.policy.name, version: options.policy.version, sha256: options.policy.source.sha256 },
    aeTitle: options.aeTitle,
    port: options.port,
    startedAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    running: true,
    totals: { associations: 0, associationsRefused: 0, received: 0, refused: 0, recovered: 0, studiesReleased: 0, forwarded: 0, written: 0, kept: 0, quarantined: 0, deliveryRetries: 0 },
    quarantine: [],
  };
  let dirty = true;
  const touch = () => {
    dirty = true;
  };

  const emit = options.onEvent ?? (() => undefined);
  const quarantine = (name: string, chunks: readonly Uint8Array[], reason: string, code: QuarantineCode) => {
    writeDurable(join(quarantineDir, `${name}.dcm`), chunks);
    writeDurable(join(quarantineDir, `${name}.reason.txt`), [Buffer.from(`${reason}\n`)]);
    report.totals.quarantined++;
    emit({ kind: 'quarantined', code });
    if (report.quarantine.length < QUARANTINE_LISTED) report.quarantine.push({ file: `${name}.dcm`, reason });
    touch();
  };

  // --- receipt: checked, spooled durably, then acknowledged ---------------------------------
  // A study's instances go into a segment folder of incoming/ (`<study key>-<n>`); a segment is
  // released as a batch once it is full, old enough or idle, and the study's next instances
  // start a new segment. A segment is moved only once none of its writes is in flight.
  interface Segment {
    folder: string;
    study: string;
    /** Instances durably written (acknowledged). */
    durable: number;
    /** Writes in flight: the segment is not moved before they end. */
    writing: number;
    /** When its first instance became durable, and when it last saw a write begin or end. */
    firstAt?: number;
    lastAt: number;
    /** No new instance goes in (full, due, or found at start); released once `writing` is 0. */
    closed: boolean;
  }
  const batching = options.keep && !options.forward && !options.out ? 0 : Math.max(0, Math.floor(options.batchInstances ?? DEFAULT_BATCH_INSTANCES));
  const batchWaitMs = Math.max(0, (options.batchWaitSeconds ?? DEFAULT_BATCH_WAIT_SECONDS) * 1000);
  const smallestWaitedBatch = Math.ceil(batching / 5);
  /** The segment each study's next instance goes to. */
  const openSegments = new Map<string, Segment>();
  /** Every segment not yet released, by folder. */
  const segments = new Map<string, Segment>();
  // segment numbers grow across restarts (a recovered folder is never written to again)
  let nextSegment = Date.now();
  const segmentFor = (study: string): Segment => {
    let segment = openSegments.get(study);
    if (!segment) {
      segment = { folder: segmentFolder(study, nextSegment++), study, durable: 0, writing: 0, lastAt: Date.now(), closed: false };
      openSegments.set(study, segment);
      segments.set(segment.folder, segment);
    }
    return segment;
  };
  const recovered = spool.openStudies();
  spool.dropPartialWrites();
  for (const folder of recovered) {
    const durable = listDir(join(spool.incoming, folder)).length;
    report.totals.recovered += durable;
    const now = Date.now();
    // batching: released at once (durable, complete as far as this spool knows); a study released
    // whole: it takes the study's next instances, as before the restart, until it is idle
    const study = studyOfSegment(folder);
    const segment: Segment = { folder, study, durable, writing: 0, firstAt: now, lastAt: now, closed: batching > 0 || openSegments.has(study) };
    segments.set(folder, segment);
    if (!segment.closed) openSegments.set(segment.study, segment);
  }

  const received = new BufferPool();
  const onStore = async (instance: ReceivedInstance): Promise<StoreOutcome> => {
    // one buffer: the meta header written in the room before the data set (no copy of it),
    // parsed here, written to the spool as it is; its buffer is reused once answered
    const whole = asPart10(instance, received);
    try {
      return await storeReceived(instance, [whole.bytes]);
    } finally {
      if (whole.pooled) received.give(whole.pooled);
    }
  };
  const storeReceived = async (instance: ReceivedInstance, chunks: Buffer[]): Promise<StoreOutcome> => {
    const name = spool.instanceKey(instance.sopInstanceUid);
    const refuse = (status: number, reason: string, code: QuarantineCode): StoreOutcome => {
      report.totals.refused++;
      quarantine(name, chunks, `refused at receipt: ${reason}`, code);
      log(`refused an instance from ${instance.callingAeTitle}: ${reason}`);
      return { status, comment: reason };
    };
    let studyUid: string;
    try {
      const file = readDicom(chunks[0]);
      if (getText(file.dataset, 0x00080018) !== bareUid(instance.sopInstanceUid)) return refuse(STATUS.datasetMismatch, 'SOPInstanceUID differs from the C-STORE request', 'SOP_INSTANCE_MISMATCH');
      studyUid = getText(file.dataset, 0x0020000d) ?? '';
    } catch (error) {
      if (error instanceof DicomDamagedError || error instanceof NotDicomError) return refuse(STATUS.cannotUnderstand, `damaged data set (${error.reason})`, 'DAMAGED_DATASET');
      throw error;
    }
    const segment = segmentFor(spool.studyKey(studyUid));
    segment.writing++;
    segment.lastAt = Date.now();
    try {
      await spool.store(segment.folder, name, chunks);
    } catch {
      report.totals.refused++;
      touch();
      log('could not write an instance to the spool; answered 0xA700');
      return { status: STATUS.outOfResources, comment: 'spool write failed' };
    } finally {
      segment.writing--;
      segment.lastAt = Date.now();
    }
    segment.durable++;
    segment.firstAt ??= segment.lastAt;
    report.totals.received++;
    touch();
    // a full segment goes at once (after its last write in flight), while the study goes on arriving
    if (batching > 0 && segment.durable >= batching) closeSegment(segment);
    if (segment.closed) releaseSegment(segment);
    return { status: STATUS.success };
  };

  /** No new instance goes into the segment: the study's next one starts another. */
  const closeSegment = (segment: Segment) => {
    segment.closed = true;
    if (openSegments.get(segment.study) === segment) openSegments.delete(segment.study);
  };
  /** Moves a closed segment to a batch once no write into it is in flight. */
  const releaseSegment = (segment: Segment) => {
    if (segment.writing > 0 || !segments.has(segment.folder)) return;
    segments.delete(segment.folder);
    if (segment.durable === 0) {
      // every write into it failed: nothing was acknowledged from it
      rmSync(join(spool.incoming, segment.folder), { recursive: true, force: true });
      return;
    }
    if (!existsSync(join(spool.incoming, segment.folder))) return;
    releasing++;
    const batch = spool.batchFor(segment.folder, Date.now());
    const released = () => {
      deidQueue.push(batch);
      report.totals.studiesReleased++;
      pumpDeid();
    };
    spool
      .release(segment.folder, batch)
      .then(released)
      .catch((error: unknown) => {
        log(`releasing a batch failed (${describe(error)})`);
        // moved but its folder not synced: de-identified all the same (at worst found again in incoming/ after a crash)
        if (existsSync(join(batch, 'in'))) released();
        // not moved: tried again by the ticker
        else segments.set(segment.folder, segment);
      })
      .finally(() => {
        releasing--;
        touch();
      });
  };
  /** Releases under way (moves of segments into batches). */
  let releasing = 0;

  // --- two stages, a few batches at a time in each: batches are forwarded while the next are de-identified
  interface Prepared {
    batch: string;
    pending: { name: string; path: string }[];
    /** Instances of the batch as received, and how many de-identification quarantined. */
    received: number;
    quarantined: number;
    sent: SentLog;
    /** Delivered so far, over every attempt (a retried batch counts what earlier attempts sent). */
    counted: { forwarded: number; written: number };
  }
  const deidQueue: string[] = spool.pendingBatches();
  const deliverQueue: Prepared[] = [];
  /** De-identifications in flight (a few batches at once on the listener's pool). */
  const deidWorking = new Set<Promise<void>>();
  /** Deliveries in flight: a few batches go at once, each on its own association (one association is latency-bound). */
  const delivering = new Set<Promise<void>>();
  let closed = false;
  const timers = new Set<NodeJS.Timeout>();
  const retryMs = Math.max(0.1, options.retrySeconds ?? DEFAULT_RETRY_SECONDS) * 1000;
  const later = (run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, retryMs);
    timers.add(timer);
  };
  const describe = (error: unknown) => (isVeilError(error) ? error.toLine() : error instanceof Error ? error.name : 'error');

  const pumpDeid = () => {
    if (deidWorking.size >= PARALLEL_DEIDENTIFICATIONS || closed) return;
    const batch = deidQueue.shift();
    if (batch === undefined) return;
    const working: Promise<void> = deidentifyBatch(batch)
      .then((prepared) => {
        deliverQueue.push(prepared);
        pumpDeliver();
      })
      .catch((error: unknown) => {
        log(`de-identifying a batch failed (${describe(error)}); retried in ${retryMs / 1000} s`);
        later(() => {
          deidQueue.push(batch);
          pumpDeid();
        });
      })
      .finally(() => {
        deidWorking.delete(working);
        touch();
        pumpDeid();
      });
    deidWorking.add(working);
    pumpDeid();
  };

  const pumpDeliver = () => {
    if (delivering.size >= PARALLEL_DELIVERIES || closed) return;
    const prepared = deliverQueue.shift();
    if (!prepared) return;
    const working: Promise<void> = deliverBatch(prepared)
      .then((delivered) => {
        if (delivered) return;
        report.totals.deliveryRetries++;
        later(() => {
          deliverQueue.push(prepared);
          pumpDeliver();
        });
      })
      .catch((error: unknown) => {
        log(`delivering a batch failed (${describe(error)}); retried in ${retryMs / 1000} s`);
        later(() => {
          deliverQueue.push(prepared);
          pumpDeliver();
        });
      })
      .finally(() => {
        delivering.delete(working);
        touch();
        pumpDeliver();
      });
    delivering.add(working);
    pumpDeliver();
  };

  /** De-identifies one released study with the folder pipeline; quarantines what it rejects. */
  const deidentifyBatch = async (batch: string): Promise<Prepared> => {
    const input = join(batch, 'in');
    const output = join(batch, 'out');
    // a kept batch becomes a job: its report and report page are part of it; otherwise the
    // report is only read here, so it is kept in memory (not written to report.json and re-read)
    const batchReport = options.keep ? join(batch, 'report.json') : undefined;
    const batchHtml = options.keep ? join(batch, 'report.html') : undefined;
    // the output is re-made from the spooled input after a restart (keyed, so identical)
    rmSync(output, { recursive: true, force: true });
    const made: { report?: DicomRunReport } = {};
    try {
      // the listener's pool, opened once: no thread start per study
      await deidentifyDicomDirectory({ policy: options.policy, input, output, reportJson: batchReport, reportHtml: batchHtml, secret: options.secret, workers, pixelCleaner, onReport: (run) => (made.report = run) });
    } catch (error) {
      // no file of the study could be de-identified: the report says why per file
      if (!(isVeilError(error) && error.code === 'NO_USABLE_INPUT' && made.report)) throw error;
    }
    const run = made.report;
    if (!run) throw new Error('a batch run ended without its report');
    const sent = new SentLog(batch);
    const pending: { name: string; path: string }[] = [];
    let quarantined = 0;
    for (const record of run.files) {
      const name = record.input.replace(/\.dcm$/, '');
      if (record.status !== 'ok' || !record.output) {
        quarantine(name, [readFileSync(join(input, record.input))], `de-identification: ${record.reason ?? record.status}`, 'DEIDENTIFICATION_FAILED');
        rmSync(join(input, record.input), { force: true });
        quarantined++;
        continue;
      }
      if (!sent.has(name)) pending.push({ name, path: join(output, record.output) });
    }
    return { batch, pending, received: run.files.length, quarantined, sent, counted: { forwarded: 0, written: 0 } };
  };

  /** Forwards (or writes) a de-identified study; false when the receiver did not take all of it. */
  const deliverBatch = async ({ batch, pending, received, quarantined, sent, counted }: Prepared): Promise<boolean> => {
    if (options.keep && !options.forward && !options.out) {
      // kept whole, once: the keeper is idempotent per batch id, so a crash before the rm below only repeats it
      const label = await options.keep({ id: basename(batch), files: join(batch, 'out'), reportJson: join(batch, 'report.json'), reportHtml: join(batch, 'report.html'), received, deidentified: pending.length, quarantined });
      report.totals.kept += pending.length;
      await rm(batch, { recursive: true, force: true });
      emit({ kind: 'study-delivered', received, forwarded: 0, written: 0, quarantined, kept: { instances: pending.length, label } });
      return true;
    }
    // recorded as soon as the receiver confirms, fsynced in groups (see SentLog)
    const markSent = (name: string) => sent.add(name);
    const keepCopy = (bytes: Buffer) => {
      if (!options.out) return;
      const parsed = readDicom(bytes);
      writeDurable(join(resolve(options.out), getText(parsed.dataset, 0x0020000d) ?? 'no-study', `${getText(parsed.meta, 0x00020003) ?? 'no-uid'}.dcm`), [bytes]);
      report.totals.written++;
      counted.written++;
    };
    const unsent = pending.filter((file) => !sent.has(file.name));
    if (!options.forward) {
      for (const file of unsent) {
        keepCopy(readFileSync(file.path));
        markSent(file.name);
      }
    } else if (unsent.length > 0) {
      // the files are read one at a time as they are sent, into one buffer reused for the whole
      // association (the next request is sent only once the previous one was answered): not a
      // batch's worth of 513 KB buffers at once, whose external memory kept the main thread's
      // garbage collector marking
      const reader = new ReusedReader();
      const outgoing: OutgoingInstance[] = unsent.map((file) => {
        const head = metaOf(file.path);
        return {
          ...head,
          dataset: () => reader.read(file.path).subarray(head.datasetOffset),
          onStored: () => {
            // marked at once: a crash after this point never sends the file again
            markSent(file.name);
            report.totals.forwarded++;
            counted.forwarded++;
            // still the file's bytes: the next file is read only when its request is sent
            if (options.out) keepCopy(reader.last());
            touch();
          },
        };
      });
      const result = await sendInstances(options.forward, outgoing);
      await sent.flush();
      if (result.failed > 0) {
        log(`forwarding to ${options.forward.aeTitle}: ${result.stored} stored, ${result.failed} not; retried in ${retryMs / 1000} s`);
        return false;
      }
    }
    await sent.flush();
    await rm(batch, { recursive: true, force: true });
    emit({ kind: 'study-delivered', received, forwarded: counted.forwarded, written: counted.written, quarantined });
    return true;
  };

  /**
   * Releases the segments that are due: idle for `--study-idle`, or (batching) `batchWaitMs`
   * after their first durable instance; all of them with `force`.
   */
  const releaseDue = (force: boolean) => {
    const now = Date.now();
    for (const segment of [...segments.values()]) {
      const idle = now - segment.lastAt >= idleMs;
      // the wait releases a segment of a fifth of a batch or more: instances arriving slowly
      // make fewer, larger batches (each batch costs a run and an association), not one per wait
      const waited = batching > 0 && segment.firstAt !== undefined && now - segment.firstAt >= batchWaitMs && segment.durable >= smallestWaitedBatch;
      if (!(force || idle || waited || segment.closed)) continue;
      closeSegment(segment);
      releaseSegment(segment);
    }
    pumpDeid();
  };

  const writeReport = async () => {
    if (!options.reportJson || !dirty) return;
    dirty = false;
    report.updatedAt = new Date().toISOString();
    await writeFileAtomic(options.reportJson, `${JSON.stringify(report, null, 2)}\n`);
  };

  let scp: Awaited<ReturnType<typeof startScp>>;
  try {
    scp = await startScp(options.host, options.port, {
      calledAeTitle: options.aeTitle,
      allowedCallers: callers,
      onAssociation: (calling, accepted, reason) => {
        if (accepted) report.totals.associations++;
        else {
          report.totals.associationsRefused++;
          log(`association from ${calling || '(no AE title)'} refused: ${reason}`);
        }
        touch();
      },
      onStore,
    });
  } catch (error) {
    await workers.close();
    throw error;
  }
  const ticker = setInterval(() => releaseDue(false), Math.min(1000, Math.max(50, Math.min(idleMs, batching > 0 ? batchWaitMs : idleMs) / 4)));
  const reporter = setInterval(() => void writeReport().catch(() => undefined), 2000);
  pumpDeid();
  await writeReport();

  return {
    report: () => structuredClone(report),
    idle: async () => {
      releaseDue(true);
      while (segments.size > 0 || releasing > 0 || deidWorking.size > 0 || delivering.size > 0 || deidQueue.length > 0 || deliverQueue.length > 0 || timers.size > 0) {
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: async () => {
      closed = true;
      clearInterval(ticker);
      clearInterval(reporter);
      for (const timer of timers) clearTimeout(timer);
      scp.close();
      await Promise.all([...deidWorking, ...delivering]);
      await workers.close();
      report.running = false;
      dirty = true;
      await writeReport();
    },
  };
}

/**
 * The calling AE titles let in (empty: every caller). The policy's `dicom.network.allowCallingAeTitles`
 * is what the committee approved; the operator's `--allow-ae` can only narrow it: with both, a
 * caller must be in both lists. Lists with no title in common are refused at start, rather than
 * a listener that lets nobody in.
 */
export function allowedCallers(policyList: readonly string[] | undefined, flagList: readonly string[] | undefined): string[] {
  const fromPolicy = (policyList ?? []).map((t) => t.trim());
  const fromFlag = (flagList ?? []).map((t) => t.trim());
  if (fromPolicy.length === 0) return [...new Set(fromFlag)];
  if (fromFlag.length === 0) return [...new Set(fromPolicy)];
  const both = [...new Set(fromFlag.filter((t) => fromPolicy.includes(t)))];
  if (both.length === 0) throw new VeilError('USAGE', "no AE title of --allow-ae is in the policy's dicom.network.allowCallingAeTitles: the listener would let nobody in", { field: '--allow-ae' });
  return both;
}

/**
 * The received data set as a Part-10 file: a meta header built from the C-STORE, then the bytes
 * as received. Written into the room the receiver left before the data set when it fits (one
 * view, nothing copied); else both copied into a buffer of the pool, given back as `pooled`.
 */
function asPart10(instance: ReceivedInstance, pool: BufferPool): { bytes: Buffer; pooled?: Buffer } {
  const meta = buildMeta([], [
    { tag: 0x00020002, vr: 'UI', value: Buffer.from(bareUid(instance.sopClassUid), 'latin1') },
    { tag: 0x00020003, vr: 'UI', value: Buffer.from(bareUid(instance.sopInstanceUid), 'latin1') },
  ], instance.transferSyntaxUid, (uid) => uid);
  const header = writeDicom({ meta, dataset: [], transferSyntax: transferSyntaxOf(TS_EXPLICIT_LE), warnings: [] });
  let headerSize = 0;
  for (const part of header) headerSize += part.length;
  const { room } = instance;
  if (room && instance.dataset.length === 1 && headerSize <= room.start) {
    let at = room.start - headerSize;
    for (const part of header) {
      room.buffer.set(part, at);
      at += part.length;
    }
    return { bytes: room.buffer.subarray(room.start - headerSize, room.start + instance.dataset[0].length) };
  }
  const parts = [...header, ...instance.dataset];
  let size = 0;
  for (const part of parts) size += part.length;
  const buffer = pool.take(size);
  let at = 0;
  for (const part of parts) {
    buffer.set(part, at);
    at += part.length;
  }
  return { bytes: buffer.subarray(0, size), pooled: buffer };
}

/** A UID as text, without the padding a peer may have left on it. */
function bareUid(uid: string): string {
  return uid.replace(/[\0 ]+$/, '');
}

/**
 * SOP class, instance and transfer syntax of a Part-10 file Veil wrote, and where its data set
 * starts: only the file's beginning is read (the meta group), not the whole file.
 */
function metaOf(path: string): { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; datasetOffset: number } {
  const fd = openSync(path, 'r');
  try {
    let head = headBuffer;
    let got = readSync(fd, head, 0, head.length, 0);
    // Veil writes preamble, "DICM", then (0002,0000) group length: the data set follows the group
    const end = got >= 144 ? 144 + head.readUInt32LE(140) : 0;
    if (end > got) {
      head = Buffer.alloc(end);
      got = readSync(fd, head, 0, end, 0);
    }
    if (got < 144 || end > got) throw new VeilError('DICOM_INVALID', 'a de-identified file of the batch is shorter than its meta header', { file: basename(path) });
    // the meta group alone (the head may hold the data set's first bytes after it)
    return { ...readMetaGroup(head.subarray(0, end)), datasetOffset: end };
  } finally {
    closeSync(fd);
  }
}
const headBuffer = Buffer.alloc(4096);

/**
 * Reads whole files into one buffer, grown when a file is larger and reused for the next: the
 * bytes returned are valid until the next read.
 */
class ReusedReader {
  private buffer = Buffer.alloc(0);
  private length = 0;

  read(path: string): Buffer {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > this.buffer.length) this.buffer = Buffer.allocUnsafe(Math.max(size, Math.ceil(this.buffer.length * 1.5)));
      let at = 0;
      while (at < size) {
        const got = readSync(fd, this.buffer, at, size - at, at);
        if (got === 0) break;
        at += got;
      }
      this.length = at;
      return this.buffer.subarray(0, at);
    } finally {
      closeSync(fd);
    }
  }

  /** The file read last. */
  last(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
