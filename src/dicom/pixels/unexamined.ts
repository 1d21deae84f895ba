import type { PixelsPolicy } from '../../policy/sections/pixels.js';
import type { DicomPixelInput, DicomPixelReport, DicomPixelResult, PixelCleaner } from '../pixelCleaner.js';
import { decideScan, NEVER_REASON } from './scanDecision.js';

/** The pixel report of a file whose pixels were not examined; the reason says why. */
export function notExaminedReport(reason: string): DicomPixelReport {
  return { scanned: false, status: 'not-scanned', reason, regions: [], transferSyntax: 'kept', verification: 'not-run', ms: 0 };
}

/**
 * The answer for a file whose pixels the policy does not examine (`scan: never`, or no scan
 * under the decision's rules, and no face search): kept as it is, or refused when the decision
 * says so. Undefined when the pixels must be examined.
 */
export function unexaminedResult(input: DicomPixelInput, policy: PixelsPolicy): DicomPixelResult | undefined {
  const decision = decideScan(input, policy);
  if (decision.text !== 'none' || (policy.faces.detect && !decision.reject)) return undefined;
  const report = notExaminedReport(decision.reason);
  return decision.reject ? { action: 'rejected', reason: decision.reason, report } : { action: 'unchanged', report };
}

/**
 * The answer for every file with pixels when the policy can never examine them (`scan: never`,
 * no face search): what unexaminedResult says, without reading the file's header.
 */
export function neverExaminedResult(policy: PixelsPolicy): DicomPixelResult {
  if (policy.burnedInText.scan !== 'never' || policy.faces.detect) throw new Error('neverExaminedResult was given a policy that examines pixels');
  return { action: 'unchanged', report: notExaminedReport(NEVER_REASON) };
}

/**
 * The cleaner of a policy that can never examine pixels (`scan: never`, faces off): each file's
 * report still says why its pixels were not looked at, and neither the models nor the codecs
 * are loaded (each worker thread saves the ≈ 0.3 s they take).
 */
export async function createUnexaminedPixelCleaner(): Promise<PixelCleaner> {
  return {
    async clean(input, policy) {
      const result = unexaminedResult(input, policy);
      if (!result) throw new Error('the not-examined pixel cleaner was given a policy that examines pixels');
      return result;
    },
    async close() {},
  };
}

/** The factory the DICOM run hands to its worker threads (see dicomPixelCleanerFactory). */
export const unexaminedPixelCleanerFactory = Object.assign(() => createUnexaminedPixelCleaner(), {
  moduleUrl: import.meta.url.endsWith('.js') ? import.meta.url : undefined,
  exportName: 'createUnexaminedPixelCleaner',
});
