import { isWritten, type ImageFileReport, type ImageRunReport } from '../../image/imageReport.js';
import { escapeHtml, page, table } from './page.js';

/**
 * A small picture of a written output (first page), shown under the regions Veil found.
 * JPEG: a review picture, not the product, and noisy scans make PNGs ten times larger.
 */
export interface ReviewThumbnail {
  /** JPEG bytes, base64. */
  jpeg: string;
}

/**
 * Colours of the outlines. Filled text is outlined where it was filled, so the reviewer
 * can tell text that was hidden from text that was kept.
 */
const COLOURS = { filled: '#cf222e', kept: '#1a7f37', face: '#bc4c00' } as const;

/** Widest a picture is shown on the page, in pixels (thumbnails are made no wider). */
export const REVIEW_PICTURE_WIDTH = 640;

/**
 * The reviewer's view of `veil image redact`. It has the run's totals, then each file's
 * outcome with its written output, downscaled and outlined: red where text was filled,
 * green where text was kept (safe technical text), orange where a face was hidden.
 * Only written outputs are shown. A flagged file was not written, so none of its pixels
 * appear here, and the page holds no recognized text.
 */
export function renderImageHtml(report: ImageRunReport, thumbnails: ReadonlyMap<string, ReviewThumbnail>): string {
  const t = report.totals;
  const verdict = t.flagged > 0 || t.errors > 0
    ? `<span class="fail">${t.flagged} flagged, ${t.errors} unreadable: not written</span>`
    : '<span class="ok">every file verified</span>';
  const written = report.files.filter(isWritten).length;
  const shown = report.files.filter((f) => thumbnails.has(f.file)).length;
  const missing = [
    report.files.length > written ? `${report.files.length - written} flagged or unreadable file(s) were not written and are not shown.` : '',
    written > shown ? `${written - shown} written file(s) have no picture: the page stops adding pictures after the first ones, and an output that cannot be read back has none.` : '',
  ].join(' ');
  const body = `
<h1>Veil — image redaction review</h1>
<p class="meta">Policy <b>${escapeHtml(report.policy.name)}</b> version ${escapeHtml(String(report.policy.version))} (sha256 ${escapeHtml(report.policy.sha256.slice(0, 16))}…) ·
scan ${escapeHtml(report.settings.scan)}, redact ${escapeHtml(report.settings.redact)}, fill ${escapeHtml(report.settings.fill)}, region ${escapeHtml(report.settings.region)} ·
faces ${report.settings.faces.detect ? escapeHtml(report.settings.faces.action) : 'not detected'} · ${report.jobs} worker(s), ${report.timingMs} ms</p>
<h2>Totals — ${verdict}</h2>
${table(['files', 'redacted', 'clean', 'skipped', 'flagged', 'unreadable', 'text regions filled', 'text regions found', 'faces hidden'], [[t.files, t.redacted, t.clean, t.skipped, t.flagged, t.errors, t.textRedacted, t.textInstances, t.facesHidden]])}
${notExamined(report)}
<h2>Files</h2>
${table(['file', 'status', 'pixels', 'size', 'text filled / kept', 'faces', 'verification', 'passes', 'pixels changed', 'ms'], report.files.map(fileRow))}
<h2>Outputs</h2>
<p>Each written output, as written, with what Veil found drawn over it:
<b style="color:${COLOURS.filled}">filled text</b>, <b style="color:${COLOURS.kept}">kept text</b>, <b style="color:${COLOURS.face}">hidden face</b>.
Multi-page files show their first page. ${missing}</p>
${report.files.map((file) => figure(file, thumbnails.get(file.file))).join('\n')}
`;
  return page('Veil image redaction review', body);
}

/** Says, in words, which files' pixels were not examined for burned-in text, and why. */
function notExamined(report: ImageRunReport): string {
  const t = report.totals;
  const reasons = [...new Set(report.files.filter((f) => f.pixelScan.status === 'not-scanned').map((f) => f.pixelScan.reason))].sort();
  const covered = `<p class="ok">Checked for burned-in text: the pixels of ${t.pixelsScanned} file(s).</p>`;
  return t.pixelsNotScanned === 0 ? covered : `${covered}\n<p class="fail">The pixels of ${t.pixelsNotScanned} file(s) were NOT examined: ${escapeHtml(reasons.join('; '))}.</p>`;
}

function fileRow(file: ImageFileReport): (string | number)[] {
  const filled = file.text.filter((r) => r.redacted).length;
  const size = file.width !== undefined && file.height !== undefined ? `${file.width}×${file.height}${file.pages ? ` × ${file.pages} pages` : ''}` : '';
  return [file.file, file.status, file.pixelScan.status, size, `${filled} / ${file.text.length - filled}`, file.faces.length, file.verification, file.passes, file.pixelsChanged, file.ms];
}

function figure(file: ImageFileReport, thumbnail: ReviewThumbnail | undefined): string {
  if (!thumbnail || file.width === undefined || file.height === undefined) return '';
  const onFirstPage = (region: { page?: number }): boolean => (region.page ?? 0) === 0;
  const stroke = strokeWidth(file.width);
  // A white line under the coloured one keeps outlines visible on any background.
  const outline = (box: { x: number; y: number; width: number; height: number }, kind: keyof typeof COLOURS): string => {
    const rect = `x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" fill="none"`;
    return `<g class="${kind}"><rect ${rect} stroke="#fff" stroke-width="${2 * stroke}"/><rect ${rect} stroke="${COLOURS[kind]}" stroke-width="${stroke}"/></g>`;
  };
  const rects = [
    ...file.text.filter(onFirstPage).map((r) => outline(r.box, r.redacted ? 'filled' : 'kept')),
    ...file.faces.filter(onFirstPage).map((f) => outline(f.box, 'face')),
  ];
  const shownWidth = Math.min(REVIEW_PICTURE_WIDTH, file.width);
  return `<figure>
<figcaption><b>${escapeHtml(file.file)}</b> — ${escapeHtml(file.status)}, verification ${escapeHtml(file.verification)}</figcaption>
<svg viewBox="0 0 ${file.width} ${file.height}" width="${shownWidth}" role="img" aria-label="${escapeHtml(file.file)}">
<image href="data:image/jpeg;base64,${thumbnail.jpeg}" x="0" y="0" width="${file.width}" height="${file.height}" preserveAspectRatio="none"/>
${rects.join('\n')}
</svg>
</figure>`;
}

/** Outlines about 2 screen pixels wide whatever the image size. */
function strokeWidth(imageWidth: number): number {
  return Math.max(1, Math.round((2 * imageWidth) / REVIEW_PICTURE_WIDTH));
}
