import { describe, expect, it } from 'vitest';
import type { ImageFileReport, ImageRunReport } from '../../../src/report/imageReport.js';
import { summarize } from '../../../src/report/imageReport.js';
import { renderImageHtml } from '../../../src/report/html/imageHtml.js';

const box = (x: number, y: number) => ({ x, y, width: 40, height: 12 });
const textRecord = (x: number, redacted: boolean, page?: number) => ({
  box: box(x, 10),
  class: redacted ? ('phi' as const) : ('safe' as const),
  reason: redacted ? 'date' : 'allow-list',
  score: 0.9,
  confidence: 0.95,
  redacted,
  round: 0,
  ...(page === undefined ? {} : { page }),
});

function fileReport(file: string, status: ImageFileReport['status'], extra: Partial<ImageFileReport> = {}): ImageFileReport {
  return { file, status, pixelScan: { status: 'scanned', reason: 'scan: always' }, width: 300, height: 200, text: [], faces: [], verification: 'passed', passes: 2, pixelsChanged: 10, lossyReencode: false, ms: 5, ...extra };
}

function runReport(files: ImageFileReport[]): ImageRunReport {
  return {
    kind: 'veil-image',
    policy: { name: 'review <test>', version: 1, sha256: 'ab'.repeat(32) },
    settings: { scan: 'always', redact: 'phi', fill: 'black', region: 'box', faces: { detect: true, action: 'fill' } },
    models: [],
    files,
    totals: summarize(files),
    jobs: 1,
    timingMs: 12,
  };
}

const redacted = fileReport('a<script>.png', 'redacted', {
  text: [textRecord(5, true), textRecord(60, false), textRecord(120, true, 1)],
  faces: [{ box: box(200, 100), score: 0.8 }],
  pages: 2,
});
const flagged = fileReport('leaky.png', 'flagged', { text: [textRecord(5, true)], verification: 'failed' });
const unreadable: ImageFileReport = { file: 'broken.png', status: 'error', pixelScan: { status: 'not-scanned', reason: 'the file could not be read' }, text: [], faces: [], verification: 'not-run', passes: 0, pixelsChanged: 0, lossyReencode: false, ms: 1, error: { code: 'IMAGE_INVALID', message: 'cannot decode' } };
const report = runReport([redacted, flagged, unreadable]);
const html = renderImageHtml(report, new Map([['a<script>.png', { jpeg: 'QUJD' }]]));

describe('renderImageHtml', () => {
  it('shows a picture only for outputs that were written, and says why others have none', () => {
    expect(html.match(/<figure>/g)).toHaveLength(1);
    expect(html.match(/data:image\/jpeg;base64,QUJD/g)).toHaveLength(1);
    expect(html).toContain('2 flagged or unreadable file(s) were not written and are not shown.');
    expect(html).toContain('<span class="fail">1 flagged, 1 unreadable: not written</span>');
  });

  it('outlines the first page’s filled text, kept text and faces in their own colours', () => {
    expect(html.match(/<g class="filled">/g)).toHaveLength(1);
    expect(html.match(/<g class="kept">/g)).toHaveLength(1);
    expect(html.match(/<g class="face">/g)).toHaveLength(1);
    expect(html).toContain('<svg viewBox="0 0 300 200" width="300"');
  });

  it('escapes file and policy names', () => {
    expect(html).not.toContain('a<script>');
    expect(html).toContain('a&lt;script&gt;.png');
    expect(html).toContain('review &lt;test&gt;');
  });

  it('lists every file with its counts', () => {
    expect(html).toContain('<td>leaky.png</td><td>flagged</td>');
    expect(html).toContain('<td>2 / 1</td>');
    expect(html).toMatch(/<td>broken\.png<\/td><td>error<\/td><td>not-scanned<\/td><td><\/td>/);
  });

  it('says every file was verified when none was flagged or unreadable', () => {
    const clean = renderImageHtml(runReport([redacted]), new Map());
    expect(clean).toContain('<span class="ok">every file verified</span>');
    expect(clean).toContain('1 written file(s) have no picture');
  });

  it('says which step hid each face, in the files table and on the outline', () => {
    const faces = fileReport('faces.png', 'redacted', {
      faces: [
        { box: box(10, 10), score: 0.9, hiddenBy: 'blur' },
        { box: box(60, 10), score: 0.8, hiddenBy: 'strong-blur' },
        { box: box(110, 10), score: 0.7, hiddenBy: 'blur' },
        { box: box(160, 10), score: 0.6, hiddenBy: 'grown-fill' },
      ],
    });
    const page = renderImageHtml(runReport([faces]), new Map([['faces.png', { jpeg: 'QUJD' }]]));
    expect(page).toContain('<th>faces hidden by</th>');
    expect(page).toContain('<td class="num">4</td><td>blur 2, stronger blur 1, fill of a grown ellipse 1</td>');
    expect(page.match(/<title>face hidden by blur<\/title>/g)).toHaveLength(2);
    expect(page).toContain('<title>face hidden by stronger blur</title>');
    expect(page).not.toContain('Withheld');
  });

  it('names a file withheld because a face survived the fill, with the reason', () => {
    const withheld = fileReport('kept-face.png', 'flagged', { verification: 'failed', facesWithheld: '1 face(s) still detected after the fill of the grown ellipse' });
    const page = renderImageHtml(runReport([withheld, redacted]), new Map());
    expect(page).toContain('<p class="fail">Withheld (not written) because a face was still found after the fill: 1 file(s).</p>');
    expect(page).toContain('<li><b>kept-face.png</b>: 1 face(s) still detected after the fill of the grown ellipse</li>');
  });

  it('says which files had their pixels examined and which were not, and why', () => {
    expect(html).toContain('Checked for burned-in text: the pixels of 2 file(s).');
    expect(html).toContain('The pixels of 1 file(s) were NOT examined: the file could not be read.');
  });
});
