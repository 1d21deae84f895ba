/**
 * The approved policy, parsed once in a long-lived parent (the server's runner, `veil worker`)
 * and handed to each job or step process with its spec. The child then never loads the YAML
 * parser and the schema (≈ 0.25–0.3 s of CPU per process, most of a DICOM step's start-up).
 *
 * The child still reads the stored bytes and checks them, and every hierarchy file, against the
 * approved sha256 (POLICY_TAMPERED) before anything runs, and takes this policy only if it was
 * parsed from bytes of that same sha256 at the same paths (worker.ts `prepared`): what was
 * checked is what runs. Anything else (the file missing or changed, a parse problem) hands the
 * child nothing, and it checks and parses by itself as before, with the same errors.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parsePolicy, type Policy } from '../policy/load.js';
import type { WorkerSpec } from './worker.js';

/** Parsed policies by sha256 and paths: a few versions run over and over. */
const parsed = new Map<string, Policy>();
const KEPT = 32;

/** Never throws: whatever goes wrong here, the child checks and parses by itself and reports it. */
export async function policyForChild(spec: Pick<WorkerSpec, 'policyFile' | 'policyDir' | 'policySha256'>): Promise<Policy | undefined> {
  const key = `${spec.policySha256}\n${spec.policyFile}\n${spec.policyDir}`;
  const known = parsed.get(key);
  if (known) return known;
  try {
    const bytes = await readFile(spec.policyFile);
    if (createHash('sha256').update(bytes).digest('hex') !== spec.policySha256) return undefined;
    const result = parsePolicy(bytes.toString('utf8'), { file: spec.policyFile, baseDir: spec.policyDir });
    if (!result.success || result.policy.source.sha256 !== spec.policySha256) return undefined;
    parsed.set(key, result.policy);
    if (parsed.size > KEPT) parsed.delete(parsed.keys().next().value as string);
    return result.policy;
  } catch {
    return undefined;
  }
}
