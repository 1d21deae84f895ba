import { join } from 'node:path';
import type { PrivacySpec } from '../../policy/sections/tabular.js';
import type { JobError, JobKind } from '../jobStore.js';
import type { DataLayout } from '../layout.js';

/**
 * The steps a job is cut into on the queue. A small job is one `run` step (the embedded
 * runner's job process, unchanged). A DICOM job is `dicom-plan`, then a flow whose parent
 * merges and whose children are chunks (with a cohort section, a first flow of header passes
 * under `dicom-cohort` decides the cohort before the chunks run). An image job is `image-plan`,
 * then a flow of `image-chunk` children under `image-merge`. A tabular job over the row
 * threshold is `tabular-plan`, then a flow of partitions under `tabular-merge`.
 */
export const STEP_NAMES = ['run', 'dicom-plan', 'dicom-headers', 'dicom-cohort', 'dicom-chunk', 'dicom-merge', 'image-plan', 'image-chunk', 'image-merge', 'tabular-plan', 'tabular-partition', 'tabular-merge'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** The approved policy version a job runs, by storage token (each worker resolves it under its own data dir). */
export interface StepPolicy {
  dir: string;
  storage: number;
  version: number;
  sha256: string;
  hierarchies: { path: string; sha256: string }[];
}

/**
 * What every step of a job carries in Redis: ids, the policy's recorded hashes and settings,
 * never a path (each worker mounts the shared data dir where it likes) and never data.
 */
export interface StepData {
  jobId: string;
  kind: JobKind;
  policy: StepPolicy;
  privacy?: PrivacySpec;
  maxCellBytes?: number;
  /** Files per DICOM/image chunk. */
  chunkFiles: number;
  /** Tabular jobs with more data rows than this are split. */
  distributedRows: number;
  /** A step's process running longer than this is stopped and the job failed. */
  jobTimeoutMs: number;
  /** Runs of one step, counting re-runs after a worker crashed (the server's --max-attempts). */
  maxAttempts: number;
  /** Chunk or partition number (children of a flow). */
  index?: number;
  /** Share of the whole job this step stands for, for progress (0–1). */
  weight?: number;
}

/** What a step returns to BullMQ (and so to the server's `completed` event). */
export interface StepResult {
  /** The job's outputs are complete in work/: the server may finish the job. */
  final: boolean;
  /** The job had ended (its input is gone) before this step ran; nothing was done. */
  skipped?: boolean;
  /** A plan step: the flow to add next, and how many children it has. */
  next?: { parent: 'dicom-cohort' | 'dicom-merge' | 'image-merge' | 'tabular-merge'; child: 'dicom-headers' | 'dicom-chunk' | 'image-chunk' | 'tabular-partition'; parts: number; weights: number[] };
}

/** Progress a step reports: its share of the job and how far it is. */
export interface StepProgress {
  weight: number;
  fraction: number;
}

/** A deterministic BullMQ id per (job, step, part): adding it twice adds it once. */
export function stepJobId(jobId: string, step: StepName, index?: number): string {
  return index === undefined ? `${jobId}-${step}` : `${jobId}-${step}-${index}`;
}

/** The Veil job a BullMQ id belongs to. */
export function veilJobIdOf(stepId: string | undefined): string | undefined {
  return stepId ? /^([a-f0-9]{32})-/.exec(stepId)?.[1] : undefined;
}

/** The first step of a job of this kind. */
export function firstStep(kind: JobKind): StepName {
  if (kind === 'dicom') return 'dicom-plan';
  if (kind === 'tabular') return 'tabular-plan';
  return 'image-plan';
}

/** Steps that are the parent of a flow (their children are the parts). */
export const PARENT_STEPS: readonly StepName[] = ['dicom-cohort', 'dicom-merge', 'image-merge', 'tabular-merge'];

/** Steps that may end a job (their result says whether they did). */
export const TERMINAL_STEPS: readonly StepName[] = ['run', 'dicom-merge', 'image-merge', 'tabular-plan', 'tabular-merge'];

/** Where a job's steps keep their intermediate files, beside input/, work/ and out/. */
export function stepsDir(layout: DataLayout, jobId: string): string {
  return join(layout.jobDir(jobId), 'steps');
}

/**
 * A step's failure travels through BullMQ as the message of its error: the client-safe
 * JobError as JSON (codes and messages only, never data values).
 */
export function encodeFailure(error: JobError): string {
  return JSON.stringify({ veil: error });
}

export function decodeFailure(reason: string | undefined): JobError | undefined {
  if (!reason) return undefined;
  try {
    const parsed = JSON.parse(reason) as { veil?: Partial<JobError> };
    const e = parsed.veil;
    if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') return undefined;
    return { code: e.code, message: e.message, ...(typeof e.field === 'string' ? { field: e.field } : {}) };
  } catch {
    return undefined;
  }
}

export function isStepName(value: unknown): value is StepName {
  return typeof value === 'string' && (STEP_NAMES as readonly string[]).includes(value);
}

export function isStepData(value: unknown): value is StepData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const policy = v.policy as Record<string, unknown> | undefined;
  return (
    typeof v.jobId === 'string' &&
    /^[a-f0-9]{32}$/.test(v.jobId) &&
    (v.kind === 'tabular' || v.kind === 'dicom' || v.kind === 'image') &&
    typeof policy === 'object' &&
    policy !== null &&
    typeof policy.dir === 'string' &&
    typeof policy.sha256 === 'string' &&
    Array.isArray(policy.hierarchies) &&
    typeof v.chunkFiles === 'number' &&
    typeof v.distributedRows === 'number' &&
    typeof v.jobTimeoutMs === 'number' &&
    typeof v.maxAttempts === 'number'
  );
}
