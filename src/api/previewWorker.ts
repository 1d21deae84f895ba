/**
 * Worker-thread entry of a policy preview (see preview.ts): runs the tabular engine on a
 * sample with one stored policy version and posts back the engine's report and HTML page.
 * The thread lives on between previews, so only the first one pays for loading the engine.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { parsePolicy, unwrap, type Policy } from '../policy/load.js';
import type { PreviewJob, PreviewOutcome, WarmReply, WarmRequest } from './preview.js';
import { approvedPolicyText, describeFailure } from './worker.js';

async function preview(job: PreviewJob): Promise<PreviewOutcome> {
  try {
    // the stored bytes are checked against the version's sha256 before they are used
    const text = await approvedPolicyText(job);
    const loaded = unwrap(parsePolicy(text, { file: 'policy.yaml', baseDir: job.policyDir }));
    const policy: Policy = { ...loaded, version: job.policyVersion };
    const { anonymizeCsvFile } = await import('../tabular/index.js');
    const reportHtml = join(job.workDir, 'report.html');
    const report = await anonymizeCsvFile({
      policy,
      input: job.input,
      output: join(job.workDir, 'published.csv'),
      reportHtml,
      // a throwaway key: the preview's pseudonyms are never shown or kept, so it needs no secret
      secret: policy.tabular?.identifiers.some((id) => id.action === 'pseudonymize') ? randomBytes(32) : undefined,
      maxCellBytes: job.maxCellBytes,
    });
    return { ok: true, report, html: await readFile(reportHtml, 'utf8') };
  } catch (error) {
    return { ok: false, error: describeFailure(error, job) };
  }
}

/**
 * A made-up table (no one's data) and a policy with the features of a typical one (identifiers
 * removed, masked and pseudonymized; numeric, categorical, masked and date quasi-identifiers;
 * a sensitive tree): warming runs the whole preview path on them once — CSV in and out,
 * Mondrian, the report with its Vega charts — so the first real preview finds the modules
 * loaded and the hot functions compiled.
 */
const WARM_POLICY = `name: warm-up
version: 1
tabular:
  identifiers:
    - { column: id, action: pseudonymize }
    - { column: name, action: remove }
    - { column: phone, action: mask, keep: 2 }
  quasiIdentifiers:
    - { column: age, type: numeric }
    - { column: sex, type: categorical }
    - { column: zip, type: categorical, hierarchy: { masking: { char: '*' } } }
    - { column: born, type: date, hierarchy: { dates: { levels: [month, year, decade] } }, minLevel: 1 }
  sensitive:
    - column: code
      hierarchy: { tree: { '*': { A: [a1, a2, a3], B: [b1, b2] } } }
    - { column: days, type: numeric }
  privacy: { k: 3, l: { variant: distinct, l: 2 }, suppressionLimit: 0.05 }
`;

function warmCsv(): string {
  const codes = ['a1', 'a2', 'a3', 'b1', 'b2'];
  const lines = ['id,name,phone,age,sex,zip,born,code,days'];
  for (let i = 0; i < 600; i++) {
    const month = String(1 + (i % 12)).padStart(2, '0');
    lines.push(`w${i},x,555${1000 + i},${20 + (i % 60)},${i % 2 ? 'F' : 'M'},${10000 + (i % 40) * 7},${1940 + (i % 60)}-${month}-1${i % 10},${codes[i % 5]},${1 + (i % 20)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs one preview of the made-up table in `workDir` (then removed): see warmPreviewThread. */
async function warm(request: WarmRequest): Promise<WarmReply> {
  try {
    const policy = unwrap(parsePolicy(WARM_POLICY, { file: 'warm-up.yaml', baseDir: request.workDir }));
    await mkdir(request.workDir, { recursive: true });
    const input = join(request.workDir, 'warm-up.csv');
    await writeFile(input, warmCsv());
    const { anonymizeCsvFile } = await import('../tabular/index.js');
    // a real preview arrived while the engine loaded: it warms the rest itself, sooner than a made-up run would
    if (previewArrived) return { warmed: true };
    const output = join(request.workDir, 'published.csv');
    await anonymizeCsvFile({ policy, input, output, reportHtml: join(request.workDir, 'report.html'), secret: randomBytes(32) });
    return { warmed: true };
  } catch (error) {
    return { warmed: false, reason: error instanceof Error ? error.message : 'the tabular engine did not run' };
  } finally {
    // a folder that cannot be removed is left for the next start, which empties the uploads
    await rm(request.workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Set once a real preview arrives: a warm-up still loading the engine then skips its made-up run. */
let previewArrived = false;

parentPort?.on('message', (message: PreviewJob | WarmRequest) => {
  if ('warm' in message) {
    void warm(message).then((reply) => parentPort?.postMessage(reply));
    return;
  }
  previewArrived = true;
  void preview(message).then((outcome) => parentPort?.postMessage(outcome));
});
