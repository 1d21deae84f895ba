import sharp from 'sharp';
import { REVIEW_PICTURE_WIDTH, type ReviewThumbnail } from '../report/html/imageHtml.js';
import { isWritten, type ImageFileReport } from '../report/imageReport.js';

/** Pictures on one review page at most; the page would otherwise grow with the input. */
const MAX_REVIEW_PICTURES = 200;

/**
 * Small 8-bit JPEGs of the written outputs (first page) for the review page, keyed by the
 * report's file name. Only outputs Veil wrote are read, never an input. An output that
 * cannot be read back gets no picture; the run itself has already succeeded.
 */
export async function reviewThumbnails(files: readonly { report: ImageFileReport; output: string }[]): Promise<Map<string, ReviewThumbnail>> {
  const thumbnails = new Map<string, ReviewThumbnail>();
  for (const { report, output } of files) {
    if (thumbnails.size >= MAX_REVIEW_PICTURES) break;
    if (!isWritten(report)) continue;
    const jpeg = await sharp(output, { page: 0 })
      .resize({ width: REVIEW_PICTURE_WIDTH, withoutEnlargement: true })
      .toColourspace('srgb')
      .jpeg({ quality: 80 })
      .toBuffer()
      .catch(() => undefined);
    if (jpeg) thumbnails.set(report.file, { jpeg: jpeg.toString('base64') });
  }
  return thumbnails;
}
