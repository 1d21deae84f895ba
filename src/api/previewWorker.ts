/**
 * Worker-thread entry of a policy preview (see preview.ts): runs the tabular engine on a
 * sample with one stored policy version and posts back the engine's report and HTML page.
 * The thread lives on between previews, so only the first one pays for loading the engine.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { parsePolicy, unwrap, type Policy } from '../policy/load.js';
import type { PreviewJob, PreviewOutcome } from './preview.js';
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

parentPort?.on('message', (job: PreviewJob) => {
  void preview(job).then((outcome) => parentPort?.postMessage(outcome));
});
