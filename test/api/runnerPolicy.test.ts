import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyForChild } from '../../src/api/runnerPolicy.js';
import { PolicyTamperedError, prepared, type WorkerSpec } from '../../src/api/worker.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { tempDir } from './helpers.js';

/**
 * The parent (runner, `veil worker`) parses the approved policy and hands it to the job or step
 * process, which still checks the stored bytes against the approved sha256 first and takes the
 * parent's parse only if it is one of exactly those bytes at the same paths.
 */
const TEXT = 'name: handed\nversion: 1\ndicom: { profile: basic }\n';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let scratch: { dir: string; cleanup(): void };
let n = 0;

beforeAll(() => {
  scratch = tempDir('veil-runner-policy-');
});
afterAll(() => scratch.cleanup());

/** A stored approved version: its policy text and (empty) hierarchy folder, as the runner names them. */
function storedVersion(text = TEXT): WorkerSpec {
  const dir = join(scratch.dir, `v${++n}`);
  mkdirSync(join(dir, 'hierarchies'), { recursive: true });
  writeFileSync(join(dir, 'policy.yaml'), text);
  return {
    jobId: `job-${n}`,
    kind: 'dicom',
    policyFile: join(dir, 'policy.yaml'),
    policyDir: join(dir, 'hierarchies'),
    policyVersion: 7,
    policySha256: sha256(text),
    hierarchies: [],
    input: join(dir, 'input'),
    workDir: join(dir, 'work'),
  };
}

describe('the policy parsed by the parent', () => {
  it('is the parse of the approved bytes at those paths, the same on a second job of the version', async () => {
    const spec = storedVersion();
    const handed = await policyForChild(spec);
    expect(handed).toEqual(unwrap(parsePolicy(TEXT, { file: spec.policyFile, baseDir: spec.policyDir })));
    expect(handed?.source.sha256).toBe(spec.policySha256);
    expect(await policyForChild(spec)).toEqual(handed);
  });

  it('is nothing when the stored bytes are not the approved ones, or missing (the child then refuses the job itself)', async () => {
    const edited = storedVersion();
    appendFileSync(edited.policyFile, '# edited on disk after approval\n');
    expect(await policyForChild(edited)).toBeUndefined();
    expect(await policyForChild({ ...storedVersion(), policyFile: join(scratch.dir, 'nowhere.yaml') })).toBeUndefined();
  });

  it('is what the child runs once the stored bytes pass the check, with the stored version number', async () => {
    const spec = storedVersion();
    const parsedPolicy = await policyForChild(spec);
    const policy = await prepared({ ...spec, parsedPolicy });
    expect(policy).toEqual({ ...parsedPolicy, version: 7 });
  });

  it('is ignored when it is the parse of other bytes: the child parses the checked bytes itself', async () => {
    const spec = storedVersion();
    const other = 'name: other\nversion: 1\ndicom: { profile: basic, options: [retainLongitudinalModifiedDates] }\n';
    const forged = unwrap(parsePolicy(other, { file: spec.policyFile, baseDir: spec.policyDir }));
    const policy = await prepared({ ...spec, parsedPolicy: forged });
    expect(policy.name).toBe('handed');
    expect(policy.source.sha256).toBe(spec.policySha256);
    // the same bytes under other paths are not taken either (hierarchy paths resolve against them)
    const elsewhere = unwrap(parsePolicy(TEXT, { file: 'x/policy.yaml', baseDir: 'x' }));
    expect((await prepared({ ...spec, parsedPolicy: elsewhere })).source.baseDir).toBe(spec.policyDir);
  });

  it('does not let a job run when the stored bytes changed after the parent parsed them: POLICY_TAMPERED', async () => {
    const spec = storedVersion();
    const parsedPolicy = await policyForChild(spec);
    expect(parsedPolicy).toBeDefined();
    appendFileSync(spec.policyFile, '# edited on disk after the parent read it\n');
    await expect(prepared({ ...spec, parsedPolicy })).rejects.toBeInstanceOf(PolicyTamperedError);
  });
});
