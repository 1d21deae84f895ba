import { describe, expect, it } from 'vitest';
import type { FileResult } from '../../src/dicom/file.js';
import type { DicomPixelReport } from '../../src/dicom/pixelCleaner.js';
import { addFileResult, emptyPixelTotals, emptyTotals, NO_PIXELS_SECTION, pixelSummaryLine, type DicomRunReport } from '../../src/report/dicomReport.js';
import { renderDicomHtml as renderHtml } from '../../src/report/html/dicomHtml.js';
import { NEVER_REASON, TRIAGE_REASON } from '../../src/dicom/pixels/scanDecision.js';

function runReport(): DicomRunReport {
  return {
    kind: 'veil-dicom',
    policy: { name: 'p', version: 1, sha256: 'ab'.repeat(32) },
    profile: { name: 'basic', edition: '2024b', options: [], unlistedElements: 'remove' },
    totals: emptyTotals(),
    files: [],
    actions: {},
    origins: {},
    residualPhi: { filesChecked: 0, valuesChecked: 0, filesFailed: 0 },
    pixels: emptyPixelTotals(),
    studiesWithSeveralPatients: [],
    timingMs: 1,
  };
}

function result(input: string, pixels?: DicomPixelReport, status: FileResult['status'] = 'ok'): FileResult {
  return { input, status, warnings: [], counts: { actions: {}, origins: {} }, residualValuesChecked: 3, ...(pixels ? { pixels: { status: 'unchanged', report: pixels } } : {}) };
}

const pixelRecord = (status: DicomPixelReport['status'], reason: string): DicomPixelReport => ({ scanned: status === 'scanned', status, reason, regions: [], transferSyntax: 'kept', verification: 'not-run', ms: 1 });

describe('pixel-scan status in the DICOM run report', () => {
  it('lists and counts scanned, triaged-clean, not-scanned and pixel-less files; the HTML says what the residual check covered', () => {
    const report = runReport();
    addFileResult(report, result('ct.dcm', pixelRecord('triaged-clean', TRIAGE_REASON)), 'ct.dcm');
    addFileResult(report, result('us.dcm', pixelRecord('scanned', 'scan: auto — modality US often carries burned-in text')), 'us.dcm');
    addFileResult(report, result('plan.dcm'), 'plan.dcm');
    expect(report.files.map((f) => f.pixelScan?.status)).toEqual(['triaged-clean', 'scanned', 'no-pixel-data']);
    expect(report.pixels).toMatchObject({ scanned: 1, triagedClean: 1, notScanned: 0, noPixelData: 1 });
    expect(pixelSummaryLine(report)).toBe('pixels: 1 scanned, 1 triaged clean, 0 not examined, 1 without pixel data');
    const html = renderHtml(report);
    expect(html).toContain('<p class="ok">Covered: headers of 3 files; burned-in text in the pixels of 2 files (1 scanned in full, 1 triaged without text-like regions).</p>');
    expect(html).toMatch(/<td>ct\.dcm<\/td><td class="ok">triaged-clean<\/td>/);
  });

  it('says in words, in red, that scan: never left pixels unexamined because the policy trusts the provenance', () => {
    const report = runReport();
    addFileResult(report, result('ct.dcm', pixelRecord('not-scanned', NEVER_REASON)), 'ct.dcm');
    expect(report.pixels.notScanned).toBe(1);
    expect(pixelSummaryLine(report)).toContain('1 not examined (scan: never — pixels were not examined for burned-in text: the policy trusts the provenance of this data)');
    const html = renderHtml(report);
    expect(html).toContain('Covered: headers of 1 files; no pixels. The pixels of 1 files were NOT examined');
    expect(html).toContain('<p class="bad">Not examined: scan: never — pixels were not examined for burned-in text: the policy trusts the provenance of this data.</p>');
  });

  it('says so when the policy has no pixels section', () => {
    const report = runReport();
    addFileResult(report, result('ct.dcm'), 'ct.dcm', false);
    expect(report.files[0].pixelScan).toEqual({ status: 'not-scanned', reason: NO_PIXELS_SECTION });
  });
});
