import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { isVeilError, VeilError } from '../../errors.js';
import { openAtomicStream, writeFileAtomic, type AtomicStream } from '../../io/atomic.js';
import type { Policy } from '../../policy/load.js';
import type { TabularPolicy } from '../../policy/sections/tabular.js';
import { streamCsv } from '../csv/read.js';
import type { Delimiter } from '../csv/delimiter.js';
import { representativeDimension } from '../entities.js';
import type { ClassStats } from '../models/model.js';
import { modelsForPolicy } from '../models/registry.js';
import { mondrian, type Partitioning } from '../mondrian/mondrian.js';
import { prepare } from '../prepare.js';
import { classLabels } from '../recode.js';
import { riskRequirementMinimum } from '../risk/wire.js';
import { buildColumns, ColumnBuilder, tableFromColumns } from '../table.js';
import { csvLine } from './csvLine.js';
import { copyRecordsRaw } from './rawCopy.js';
import { partitionPath, planPath, PLAN_FORMAT, rowsPath, type Plan, type PlanPartition } from './layout.js';

export interface PlanOptions {
  /** The CSV to anonymize. */
  input: string;
  policy: Policy;
  /** Directory relative hierarchy paths are resolved against (default: the policy file's). */
  policyDir?: string;
  /** Cut until every partition has at most this many rows (unless the policy allows no further cut). */
  maxPartitionRows: number;
  workDir: string;
  /** Largest CSV cell in UTF-8 bytes (default 1 MiB). */
  maxCellBytes?: number;
}

/**
 * The central step of a distributed run: Mondrian's top cuts, made on exact counts over the
 * whole table, until every partition fits one worker (≤ maxPartitionRows rows). A cut is made
 * only when every part meets every privacy model (with `entity`, counted in people, whose rows
 * never straddle a cut), so each partition can be anonymized alone and the merged classes meet
 * the policy. The CSV is read twice as a stream: once keeping only the coded columns the cuts
 * look at (quasi-identifiers, sensitive, entity: 4 bytes a cell), once copying every row to its
 * partition file. Writes partitions/<i>.csv, rows.bin, then plan.json (atomically, last).
 */
export async function planPartitions(options: PlanOptions): Promise<Plan> {
  const { input, policy, workDir } = options;
  const tabular = policy.tabular;
  if (!tabular) throw new VeilError('POLICY_INVALID', 'the policy has no tabular section', { file: policy.source.file, field: 'tabular' });
  if (!Number.isInteger(options.maxPartitionRows) || options.maxPartitionRows < 1) {
    throw new VeilError('USAGE', 'maxPartitionRows must be a whole number of rows, at least 1', { field: 'maxPartitionRows' });
  }
  const timingMs: Record<string, number> = {};
  let clock = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timingMs[name] = Math.round((now - clock) * 10) / 10;
    clock = now;
  };

  // Pass 1: the columns the cuts look at, dictionary-coded.
  const wanted = wantedColumns(tabular);
  let builders: ColumnBuilder[] = [];
  let keep: number[] = [];
  const read = await streamCsv(input, { maxCellBytes: options.maxCellBytes }, {
    onHeader: (header) => {
      for (const column of [...wanted, ...requiredIdentifiers(tabular)]) {
        if (!header.includes(column.name)) throw new VeilError('COLUMN_UNKNOWN', `column "${column.name}" named by the policy is not in the CSV header`, { file: policy.source.file, field: column.field });
      }
      keep = wanted.map((column) => header.indexOf(column.name));
      builders = wanted.map((column) => new ColumnBuilder(column.name));
    },
    onRow: (cells) => {
      for (let b = 0; b < builders.length; b++) builders[b].push(cells[keep[b]]);
    },
  });
  if (read.rows === 0) throw new VeilError('CSV_INVALID', 'the table has a header but no records: nothing to anonymize', { file: input });
  lap('read');

  const table = tableFromColumns(buildColumns(builders));
  builders = [];
  const policyFile = policy.source.file;
  // Identifier columns were checked against the header above; the coded table has none of them.
  const coded: TabularPolicy = { ...tabular, identifiers: tabular.identifiers.map((id) => ({ ...id, optional: true })) };
  const prepared = located(() => prepare(table, coded, { baseDir: options.policyDir ?? policy.source.baseDir, policyFile }), input);
  const { dimensions, sensitive, entities } = prepared;
  const n = table.rowCount;
  const globalCounts = sensitive.map((s) => {
    const counts = new Int32Array(s.cardinality);
    for (let r = 0; r < n; r++) counts[s.codes[r]]++;
    return counts;
  });
  const models = modelsForPolicy(tabular.privacy, sensitive, globalCounts, n, entities?.column).list();
  const whole: ClassStats = { size: n, counts: globalCounts, ...(entities ? { entities: entities.count } : {}) };
  const notes: string[] = [];
  // As in anonymizeTable: a table that cannot meet a model is refused, unless every record may be suppressed.
  let cut = true;
  for (const model of models) {
    const reason = model.explainTableFailure(whole);
    if (!reason) continue;
    if (Math.floor(tabular.privacy.suppressionLimit * n) < n) throw new VeilError('POLICY_UNSATISFIABLE', reason, { file: policyFile, field: model.policyField });
    cut = false;
    notes.push('The whole table cannot meet the policy: it is one partition, whose records will all be suppressed.');
    break;
  }
  const riskMinimum = riskRequirementMinimum(tabular, policyFile);
  const accepts = (stats: ClassStats) => {
    if ((stats.entities ?? stats.size) < riskMinimum) return false;
    for (const model of models) if (!model.accepts(stats)) return false;
    return true;
  };
  const partitioning: Partitioning = cut
    ? mondrian({
        rowCount: n,
        dimensions: entities ? dimensions.map((dim) => representativeDimension(dim, entities)) : dimensions,
        ...(entities ? { entities } : {}),
        sensitive: models.some((m) => m.usesSensitive) ? sensitive : [],
        accepts,
        stopAtRows: options.maxPartitionRows,
      })
    : { perm: Int32Array.from({ length: n }, (_, i) => i), bounds: Int32Array.of(0, n) };
  lap('cut');

  const { perm, bounds } = partitioning;
  const count = bounds.length - 1;
  const partOf = new Uint32Array(n);
  for (let p = 0; p < count; p++) for (let i = bounds[p]; i < bounds[p + 1]; i++) partOf[perm[i]] = p;
  const labels = dimensions.map((dim) => classLabels(dim, perm, bounds));
  const people = entities ? peoplePerPartition(entities.codes, entities.count, partOf, count) : undefined;
  const partitions: PlanPartition[] = [];
  for (let p = 0; p < count; p++) {
    const covers: Record<string, string> = {};
    dimensions.forEach((dim, d) => (covers[dim.name] = labels[d][p]));
    partitions.push({ index: p, rows: bounds[p + 1] - bounds[p], ...(people ? { people: people[p] } : {}), covers });
  }
  const oversize = partitions.filter((p) => p.rows > options.maxPartitionRows).length;
  if (oversize > 0 && cut) notes.push(`${oversize} partition${oversize === 1 ? ' is' : 's are'} larger than maxPartitionRows: no further cut keeps every part within the policy.`);
  const sensitiveWhole = sensitive.map((s, i) => ({ column: s.name, texts: [...s.texts], counts: Array.from(globalCounts[i]) }));

  // Pass 2: every row to its partition file, in input order.
  await mkdir(workDir, { recursive: true });
  await writePartitions(input, workDir, read.delimiter, read.header, partOf, count, options.maxCellBytes);
  await writeFileAtomic(rowsPath(workDir), new Uint8Array(partOf.buffer, partOf.byteOffset, partOf.byteLength));
  lap('write');

  const plan: Plan = {
    format: PLAN_FORMAT,
    planId: randomBytes(8).toString('hex'),
    input: resolve(input),
    rows: n,
    ...(entities ? { people: entities.count } : {}),
    delimiter: read.delimiter,
    header: [...read.header],
    maxPartitionRows: options.maxPartitionRows,
    policySha256: policy.source.sha256,
    partitions,
    sensitive: sensitiveWhole,
    dimensions: dimensions.map((dim) => ({ column: dim.name, domainDistinct: dim.domainDistinct, ...(dim.kind === 'numeric' ? { domainMin: dim.domainMin, domainMax: dim.domainMax } : {}) })),
    randomKey: randomBytes(32).toString('hex'),
    notes,
    timingMs,
  };
  await writeFileAtomic(planPath(workDir), `${JSON.stringify(plan, null, 2)}\n`);
  return plan;
}

interface Wanted {
  name: string;
  field: string;
}

/** The columns the cuts look at, each once, with the policy field that names it. */
function wantedColumns(tabular: TabularPolicy): Wanted[] {
  const all: Wanted[] = [
    ...tabular.quasiIdentifiers.map((q, i) => ({ name: q.column, field: `tabular.quasiIdentifiers.${i}.column` })),
    ...tabular.sensitive.map((s, i) => ({ name: s.column, field: `tabular.sensitive.${i}.column` })),
    ...(tabular.entity !== undefined ? [{ name: tabular.entity, field: 'tabular.entity' }] : []),
  ];
  return all.filter((column, i) => all.findIndex((c) => c.name === column.name) === i);
}

function requiredIdentifiers(tabular: TabularPolicy): Wanted[] {
  return tabular.identifiers.flatMap((id, i) => (id.optional ? [] : [{ name: id.column, field: `tabular.identifiers.${i}.column` }]));
}

function peoplePerPartition(codes: Int32Array, entityCount: number, partOf: Uint32Array, count: number): number[] {
  const people = new Array<number>(count).fill(0);
  const seen = new Uint8Array(entityCount);
  for (let r = 0; r < codes.length; r++) {
    if (seen[codes[r]]) continue;
    seen[codes[r]] = 1;
    people[partOf[r]]++;
  }
  return people;
}

/** Errors about data that name no file are located in the input CSV (as anonymizeCsvFile does). */
function located<T>(run: () => T, input: string): T {
  try {
    return run();
  } catch (error) {
    if (isVeilError(error) && !error.location.file && ['COLUMN_UNKNOWN', 'VALUE_INVALID', 'CSV_INVALID', 'HIERARCHY_INVALID'].includes(error.code)) {
      throw new VeilError(error.code, error.message, { ...error.location, file: input });
    }
    throw error;
  }
}

/** Bytes a partition's text is gathered into before it is handed to its file. */
const FLUSH_CHARS = 256 * 1024;

/**
 * Every row to its partition file, in input order: the record's bytes as read when the file
 * allows it (copyRecordsRaw), else parsed and written again (a file with quotes or lone CRs).
 */
async function writePartitions(input: string, workDir: string, delimiter: Delimiter, header: readonly string[], partOf: Uint32Array, count: number, maxCellBytes: number | undefined): Promise<void> {
  const headerLine = csvLine(header, header.length, delimiter);
  const open = async (): Promise<AtomicStream[]> => {
    const files: AtomicStream[] = [];
    try {
      for (let p = 0; p < count; p++) {
        files.push(await openAtomicStream(partitionPath(workDir, p)));
        files[p].stream.write(headerLine);
      }
    } catch (error) {
      for (const file of files) await file.abort();
      throw error;
    }
    return files;
  };
  let files = await open();
  try {
    if (await copyRecordsRaw(input, delimiter, partOf, files.map((file) => file.stream))) {
      for (const file of files) await file.commit();
      return;
    }
  } catch (error) {
    for (const file of files) await file.abort();
    throw error;
  }
  for (const file of files) await file.abort();
  files = await open();
  try {
    await parseIntoPartitions(input, delimiter, partOf, files, maxCellBytes);
    for (const file of files) await file.commit();
  } catch (error) {
    for (const file of files) await file.abort();
    throw error;
  }
}

async function parseIntoPartitions(input: string, delimiter: Delimiter, partOf: Uint32Array, files: AtomicStream[], maxCellBytes: number | undefined): Promise<void> {
  const count = files.length;
  const pending = new Array<string>(count).fill('');
  let row = 0;
  let width = 0;
  const flush = (p: number): boolean => {
    const ok = files[p].stream.write(pending[p]);
    pending[p] = '';
    return ok;
  };
  await streamCsv(input, { delimiter, maxCellBytes }, {
    onHeader: (header) => {
      width = header.length;
    },
    onRow: (cells) => {
      const p = partOf[row++];
      pending[p] += csvLine(cells, width, delimiter);
      if (pending[p].length >= FLUSH_CHARS) flush(p);
    },
    // Wait for the disk when a file's buffer is full, so memory stays bounded.
    afterChunk: async () => {
      for (const file of files) if (file.stream.writableNeedDrain) await once(file.stream, 'drain');
    },
  });
  for (let p = 0; p < count; p++) flush(p);
}
