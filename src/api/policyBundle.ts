import type { PolicyDocument } from '../policy/schema.js';
import { ApiError } from './errors.js';

/**
 * A policy sent over HTTP names its ARX hierarchy files by paths relative to the policy
 * (as on disk). Those files travel in the same multipart request; the server stores them
 * beside the stored policy under the path the policy names, after checking that path is a
 * plain relative one. A file not uploaded may come from the operator's hierarchy library
 * (`veil serve --hierarchy-dir`), copied in at PUT time so that an approved version never
 * changes. Inline builders ({intervals}, {masking}, {dates}, {tree}) need no file.
 */
export interface HierarchyRef {
  /** Path as written in the policy. */
  path: string;
  /** Policy field that names it, e.g. tabular.quasiIdentifiers.1.hierarchy. */
  field: string;
  /** An ARX hierarchy (checked as one at PUT time), or a data table of the policy (risk.population, risk.zipPopulation). */
  kind: 'hierarchy' | 'table';
}

export function hierarchyFileRefs(policy: PolicyDocument): HierarchyRef[] {
  const refs: HierarchyRef[] = [];
  const tabular = policy.tabular;
  if (!tabular) return refs;
  tabular.quasiIdentifiers.forEach((qi, index) => {
    if (typeof qi.hierarchy === 'string') refs.push({ path: qi.hierarchy, field: `tabular.quasiIdentifiers.${index}.hierarchy`, kind: 'hierarchy' });
  });
  tabular.sensitive.forEach((column, index) => {
    if (typeof column.hierarchy === 'string') refs.push({ path: column.hierarchy, field: `tabular.sensitive.${index}.hierarchy`, kind: 'hierarchy' });
  });
  // the risk models' tables travel, are stored and are checked against the approval like hierarchies
  if (tabular.risk?.population !== undefined) refs.push({ path: tabular.risk.population, field: 'tabular.risk.population', kind: 'table' });
  if (tabular.risk?.zipPopulation !== undefined) refs.push({ path: tabular.risk.zipPopulation, field: 'tabular.risk.zipPopulation', kind: 'table' });
  return refs;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;

/** A relative path of plain segments (letters, digits, . _ -; no leading dot, no .., no /x). */
export function isPlainRelativePath(path: string): boolean {
  if (path.length === 0 || path.length > 300) return false;
  return path.split('/').every((segment) => SEGMENT.test(segment));
}

export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}

export interface UploadedHierarchy {
  /** Client-side file name; only compared with the policy's names, never used as a path. */
  originalName: string;
  bytes: Buffer;
}

/**
 * Pairs every hierarchy file the policy names with an uploaded file of the same base name.
 * Refuses unsafe paths, missing files and ambiguity; uploads the policy does not name are
 * ignored (the PUT answer counts them).
 */
export function matchHierarchyUploads(
  refs: readonly HierarchyRef[],
  uploads: readonly UploadedHierarchy[],
  /** Bytes of a file the operator's hierarchy library holds at this (checked) path, if any. */
  library?: (path: string) => Buffer | undefined,
): { files: Map<string, Buffer>; ignoredUploads: number } {
  const byBase = new Map<string, UploadedHierarchy>();
  for (const upload of uploads) {
    const base = baseName(upload.originalName);
    if (byBase.has(base)) throw new ApiError(400, 'HIERARCHY_DUPLICATE', 'two uploaded hierarchy files have the same name', 'hierarchies');
    byBase.set(base, upload);
  }
  const files = new Map<string, Buffer>();
  const usedBases = new Set<string>();
  for (const ref of refs) {
    if (!isPlainRelativePath(ref.path)) {
      throw new ApiError(400, 'POLICY_INVALID', 'a hierarchy path must be relative and made of letters, digits, ".", "_", "-" and "/" (no "..")', ref.field);
    }
    if (files.has(ref.path)) continue;
    const base = baseName(ref.path);
    const upload = byBase.get(base);
    if (!upload) {
      const stored = library?.(ref.path);
      if (stored) {
        files.set(ref.path, stored);
        continue;
      }
      throw new ApiError(400, 'HIERARCHY_MISSING', `the policy names a hierarchy file that was not uploaded (send it as a "hierarchies" part named ${base})`, ref.field);
    }
    if (usedBases.has(base)) throw new ApiError(400, 'HIERARCHY_AMBIGUOUS', 'two hierarchy paths of the policy end in the same file name', ref.field);
    usedBases.add(base);
    files.set(ref.path, upload.bytes);
  }
  // uploads the policy does not name (a whole folder sent at once) are left out, not stored
  return { files, ignoredUploads: byBase.size - usedBases.size };
}
