import { isWritten, type ImageFileReport, type ImageRunReport } from '../imageReport.js';
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
${table(['file', 'status', 'pixels', 'size', 'text filled / kept', 'faces', 'faces hidden by', 'verification', 'passes', 'pixels changed', 'ms'], report.files.map(fileRow))}
${facesWithheld(report)}
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
  return [file.file, file.status, file.pixelScan.status, size, `${filled} / ${file.text.length - filled}`, file.faces.length, hiddenBy(file), file.verification, file.passes, file.pixelsChanged, file.ms];
}

/** The escalation rungs (src/image/faces/verify.ts HideStep) in the reviewer's words. */
const HIDE_STEPS: Readonly<Record<string, string>> = {
  blur: 'blur',
  'strong-blur': 'stronger blur',
  pixelate: 'pixelate',
  'coarse-pixelate': 'coarser pixelate',
  fill: 'fill',
  'grown-fill': 'fill of a grown ellipse',
};

function stepName(step: string | undefined): string {
  return step === undefined ? 'unknown step' : (HIDE_STEPS[step] ?? step);
}

/** How many faces each step hid, e.g. "blur 2, stronger blur 1" (a face the first step did not hide went up the ladder). */
function hiddenBy(file: ImageFileReport): string {
  const counts = new Map<string, number>();
  for (const face of file.faces) counts.set(stepName(face.hiddenBy), (counts.get(stepName(face.hiddenBy)) ?? 0) + 1);
  return [...counts].map(([step, n]) => `${step} ${n}`).join(', ');
}

/** Files withheld because a face was still found after the last step (fill): named, never shown. */
function facesWithheld(report: ImageRunReport): string {
  const withheld = report.files.filter((f) => f.facesWithheld !== undefined);
  if (withheld.length === 0) return '';
  const items = withheld.map((f) => `<li><b>${escapeHtml(f.file)}</b>: ${escapeHtml(f.facesWithheld ?? '')}</li>`).join('\n');
  return `<p class="fail">Withheld (not written) because a face was still found after the fill: ${withheld.length} file(s).</p>\n<ul>\n${items}\n</ul>`;
}

function figure(file: ImageFileReport, thumbnail: ReviewThumbnail | undefined): string {
  if (!thumbnail || file.width === undefined || file.height === undefined) return '';
  const onFirstPage = (region: { page?: number }): boolean => (region.page ?? 0) === 0;
  const stroke = strokeWidth(file.width);
  // A white line under the coloured one keeps outlines visible on any background.
  const outline = (box: { x: number; y: number; width: number; height: number }, kind: keyof typeof COLOURS, title?: string): string => {
    const rect = `x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" fill="none"`;
    const tooltip = title === undefined ? '' : `<title>${escapeHtml(title)}</title>`;
    return `<g class="${kind}">${tooltip}<rect ${rect} stroke="#fff" stroke-width="${2 * stroke}"/><rect ${rect} stroke="${COLOURS[kind]}" stroke-width="${stroke}"/></g>`;
  };
  const rects = [
    ...file.text.filter(onFirstPage).map((r) => outline(r.box, r.redacted ? 'filled' : 'kept')),
    ...file.faces.filter(onFirstPage).map((f) => outline(f.box, 'face', `face hidden by ${stepName(f.hiddenBy)}`)),
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
